package keystore

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/password"
)

// storedParams returns the Argon2id costs recorded in an identity's file.
func storedParams(t *testing.T, s *Store, name string) password.Params {
	t.Helper()
	si, err := s.readIdentity(name)
	if err != nil {
		t.Fatal(err)
	}
	p := si.params
	p.Salt = [password.SaltSize]byte{}
	return p
}

// TestOptionsParams checks that each store encrypts with its own costs,
// with no state shared between stores: two stores with different costs,
// in one process, on one directory.
func TestOptionsParams(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	other := password.Params{Time: 2, MemoryKiB: 8192, Threads: 2}
	a, err := Create(dir, testOptions)
	must(t, err)
	b, err := Open(dir, &Options{Params: other})
	must(t, err)
	mustIdentity(t, a, "a", keyblob.KindX25519)
	mustIdentity(t, b, "b", keyblob.KindX25519)
	if got := storedParams(t, a, "a"); got != cheapParams {
		t.Errorf("store a wrote costs %v, want %v", got, cheapParams)
	}
	if got := storedParams(t, a, "b"); got != other {
		t.Errorf("store b wrote costs %v, want %v", got, other)
	}
	// A rotation re-encrypts with the costs of the store that rotates.
	_, _, err = b.Rotate("a", pass)
	must(t, err)
	if got := storedParams(t, a, "a"); got != other {
		t.Errorf("after a rotation by store b, costs %v, want %v", got, other)
	}
}

func TestOptionsDefaults(t *testing.T) {
	for _, opts := range []*Options{nil, {}} {
		s, err := Create(filepath.Join(t.TempDir(), "store"), opts)
		must(t, err)
		if s.opts.Params != password.Defaults() || s.opts.LockTimeout != 0 {
			t.Errorf("Create(%v): options %+v, want password.Defaults() and the default lock timeout", opts, s.opts)
		}
	}
}

func TestOptionsBadParams(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	for _, p := range []password.Params{
		{Time: 1, MemoryKiB: 1, Threads: 1},
		{Time: 0, MemoryKiB: 8192, Threads: 1},
		{Time: 1, MemoryKiB: 8192, Threads: 0},
	} {
		if _, err := Create(dir, &Options{Params: p}); !errors.Is(err, password.ErrParams) {
			t.Errorf("Create with costs %v = %v, want password.ErrParams", p, err)
		}
	}
}

// TestKeyOptions checks Description and Time, and that Replace alone
// replaces.
func TestKeyOptions(t *testing.T) {
	s := newStore(t)
	mustIdentity(t, s, "me", keyblob.KindX25519)
	me := mustUnlock(t, s, "me")
	when := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	must(t, s.PutKey("k", keyblob.NewSessionKey(), me, &KeyOptions{Description: "dated", Time: when}))
	info, err := s.Key("k")
	must(t, err)
	if info.Description != "dated" || !info.Created.Equal(when) {
		t.Errorf("stored %q created %v, want %q created %v", info.Description, info.Created, "dated", when)
	}
	before := time.Now().Add(-time.Second)
	newer := keyblob.NewSessionKey()
	must(t, s.PutKey("k", newer, me, &KeyOptions{Replace: true}))
	info, err = s.Key("k")
	must(t, err)
	if info.Description != "" || info.Created.Before(before) {
		t.Errorf("replaced key: %q created %v, want no description, dated now", info.Description, info.Created)
	}
	if got, err := s.GetKey("k", unlocker(s, nil)); err != nil || !got.Equal(newer) {
		t.Errorf("GetKey after Replace: %v", err)
	}
}
