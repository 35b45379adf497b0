package keystore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyblob/keyblob"
)

// TestSharedNameSpace performs finding 10's store attack: a contact made
// with the name of a stored identity took over -r me. Contacts and
// identities now share one name space, in both directions.
func TestSharedNameSpace(t *testing.T) {
	s := newStore(t)
	me := mustIdentity(t, s, "me", keyblob.KindX25519)
	mallory := mustGenerate(t, keyblob.KindX25519)
	for _, replace := range []bool{false, true} {
		err := s.AddContact("me", mallory.Recipient(), &ContactOptions{Replace: replace})
		if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), `identity "me"`) {
			t.Fatalf("AddContact(me, replace=%v) = %v, want ErrExists naming the identity", replace, err)
		}
	}
	if r, err := s.Recipient("me"); err != nil || !r.Equal(me.Recipient()) {
		t.Fatalf("Recipient(me) = %v, %v after a refused contact", r, err)
	}

	must(t, s.AddContact("bob", mallory.Recipient(), nil))
	_, err := s.NewIdentity("bob", keyblob.KindX25519, pass)
	if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), `contact "bob"`) {
		t.Fatalf("NewIdentity(bob) = %v, want ErrExists naming the contact", err)
	}
	if err := s.ImportIdentity("bob", me, pass); !errors.Is(err, ErrExists) {
		t.Fatalf("ImportIdentity(bob) = %v, want ErrExists", err)
	}
	if _, err := s.Identity("bob"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a refused identity was stored: %v", err)
	}
}

// TestNameClashRefused: a store where a contact and an identity have one
// name (written by an older keyblob, or planted by someone who can write
// the store) resolves that name to neither.
func TestNameClashRefused(t *testing.T) {
	s := newStore(t)
	mustIdentity(t, s, "me", keyblob.KindX25519)
	mallory := mustGenerate(t, keyblob.KindX25519).Recipient()
	planted := filepath.Join(s.Dir(), contactsDir, "me"+contactExt)
	must(t, os.WriteFile(planted, []byte(mallory.String()+"\n"), 0o644))
	if _, err := s.Holder("me"); !errors.Is(err, ErrNameClash) {
		t.Fatalf("Holder(me) = %v, want ErrNameClash", err)
	}
	if r, err := s.Recipient("me"); !errors.Is(err, ErrNameClash) {
		t.Fatalf("Recipient(me) = %v, %v; want ErrNameClash", r, err)
	}
	if rs, err := s.Senders("me"); !errors.Is(err, ErrNameClash) {
		t.Fatalf("Senders(me) = %v, %v; want ErrNameClash", rs, err)
	}
}

func TestHolder(t *testing.T) {
	s := newStore(t)
	mustIdentity(t, s, "me", keyblob.KindX25519)
	must(t, s.AddContact("bob", mustGenerate(t, keyblob.KindX25519).Recipient(), nil))
	tests := []struct{ name, want string }{{"me", KindIdentity}, {"bob", KindContact}, {"nobody", ""}}
	for _, tt := range tests {
		if got, err := s.Holder(tt.name); err != nil || got != tt.want {
			t.Errorf("Holder(%q) = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
	if _, err := s.Holder("../x"); !errors.Is(err, ErrBadName) {
		t.Errorf("Holder(../x) = %v, want ErrBadName", err)
	}
}
