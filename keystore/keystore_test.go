package keystore

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/sys/unix"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/format"
	"github.com/keyblob/keyblob/password"
)

// cheapParams keep Argon2id fast in tests (8 MiB, one pass): the store's
// behaviour does not depend on the costs.
var cheapParams = password.Params{Time: 1, MemoryKiB: 8192, Threads: 1}

// testOptions open the tests' stores with cheapParams.
var testOptions = &Options{Params: cheapParams}

var (
	pass  = []byte("correct horse battery staple")
	wrong = []byte("correct horse battery stapler")
)

// newStore makes a new store in a test directory.
func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := Create(filepath.Join(t.TempDir(), "store"), testOptions)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// withLockTimeout opens s again with another lock timeout.
func withLockTimeout(t *testing.T, s *Store, timeout time.Duration) *Store {
	t.Helper()
	s, err := Open(s.Dir(), &Options{LockTimeout: timeout, Params: cheapParams})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustIdentity(t *testing.T, s *Store, name, kind string) *keyblob.Identity {
	t.Helper()
	id, err := s.NewIdentity(name, kind, pass)
	if err != nil {
		t.Fatalf("NewIdentity(%q): %v", name, err)
	}
	return id
}

func mustUnlock(t *testing.T, s *Store, name string) *Keyring {
	t.Helper()
	k, err := s.Unlock(name, pass)
	if err != nil {
		t.Fatalf("Unlock(%q): %v", name, err)
	}
	return k
}

func mustGenerate(t *testing.T, kind string) *keyblob.Identity {
	t.Helper()
	id, err := keyblob.GenerateIdentity(kind)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// unlocker returns an unlock function for GetKey that unlocks each
// identity once with pass and counts its calls.
func unlocker(s *Store, calls *atomic.Int32) func(string) (*Keyring, error) {
	var mu sync.Mutex
	cache := map[string]*Keyring{}
	return func(name string) (*Keyring, error) {
		if calls != nil {
			calls.Add(1)
		}
		mu.Lock()
		defer mu.Unlock()
		if k, ok := cache[name]; ok {
			return k, nil
		}
		k, err := s.Unlock(name, pass)
		if err == nil {
			cache[name] = k
		}
		return k, err
	}
}

func checkMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != want {
		t.Errorf("%s has mode %#o, want %#o", path, got, want)
	}
}

func TestOpen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	_, err := Open(dir, testOptions)
	if !errors.Is(err, ErrNoStore) {
		t.Fatalf("Open(missing) = %v, want ErrNoStore", err)
	}
	if !strings.Contains(err.Error(), dir) {
		t.Errorf("error %q does not name the directory", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open(create=false) made the directory: %v", err)
	}
	s, err := Create(dir, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	if s.Dir() != dir {
		t.Errorf("Dir() = %q, want %q", s.Dir(), dir)
	}
	for _, sub := range []string{"", identitiesDir, contactsDir, keysDir} {
		checkMode(t, filepath.Join(dir, sub), 0o700)
	}
	if _, err := Open(dir, testOptions); err != nil {
		t.Errorf("Open(existing): %v", err)
	}
	// An empty store lists nothing.
	if ids, err := s.Identities(); err != nil || len(ids) != 0 {
		t.Errorf("Identities() = %v, %v", ids, err)
	}
	if keys, err := s.Keys(); err != nil || len(keys) != 0 {
		t.Errorf("Keys() = %v, %v", keys, err)
	}
	// A file is not a store.
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := Create(file, testOptions); err == nil || errors.Is(err, ErrNoStore) {
		t.Errorf("Open(file) = %v, want a not-a-directory error", err)
	}
}

func TestIdentityLifecycle(t *testing.T) {
	s := newStore(t)
	id := mustIdentity(t, s, "me", keyblob.KindHybrid)
	path := filepath.Join(s.Dir(), identitiesDir, "me.id")
	checkMode(t, path, 0o600)
	checkMode(t, filepath.Join(s.Dir(), identitiesDir), 0o700)

	// Unlock gives back the identity.
	k := mustUnlock(t, s, "me")
	if k.Name != "me" || len(k.Identities) != 1 || len(k.Created) != 1 {
		t.Fatalf("keyring %+v", k)
	}
	if !k.Current().Recipient().Equal(id.Recipient()) {
		t.Fatal("unlocked identity differs from the one made")
	}
	if d := time.Since(k.Created[0]); d < 0 || d > time.Minute {
		t.Errorf("created %v", k.Created[0])
	}

	// A wrong passphrase.
	if _, err := s.Unlock("me", wrong); !errors.Is(err, ErrPassphrase) {
		t.Fatalf("Unlock(wrong) = %v, want ErrPassphrase", err)
	}
	if _, err := s.Unlock("me", nil); err == nil {
		t.Fatal("Unlock(empty passphrase) succeeded")
	}

	// The name is taken: the file is not replaced.
	before, _ := os.ReadFile(path)
	if _, err := s.NewIdentity("me", keyblob.KindX25519, pass); !errors.Is(err, ErrExists) {
		t.Fatalf("NewIdentity(taken) = %v, want ErrExists", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("NewIdentity(taken) changed the file")
	}

	// Show: the public part without the passphrase.
	info, err := s.Identity("me")
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "me" || len(info.Generations) != 1 || !info.Current().Recipient.Equal(id.Recipient()) {
		t.Fatalf("Identity(me) = %+v", info)
	}
	if _, err := s.Identity("nobody"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Identity(nobody) = %v, want ErrNotFound", err)
	}
	if _, err := s.Unlock("nobody", pass); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Unlock(nobody) = %v, want ErrNotFound", err)
	}

	// Import an identity made elsewhere; export gives it back.
	other := mustGenerate(t, keyblob.KindX25519)
	if err := s.ImportIdentity("other", other, []byte("another passphrase")); err != nil {
		t.Fatal(err)
	}
	if err := s.ImportIdentity("other", other, pass); !errors.Is(err, ErrExists) {
		t.Fatalf("ImportIdentity(taken) = %v, want ErrExists", err)
	}
	if _, err := s.Unlock("other", pass); !errors.Is(err, ErrPassphrase) {
		t.Fatalf("each identity has its own passphrase: %v", err)
	}
	ko, err := s.Unlock("other", []byte("another passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	exported, err := ko.Current().MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	back, err := keyblob.ParseIdentity(exported)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Recipient().Equal(other.Recipient()) {
		t.Fatal("exported identity differs from the imported one")
	}
	want, _ := other.MarshalPEM()
	if !bytes.Equal(exported, want) {
		t.Error("export is not the identity file that was imported")
	}

	// List, sorted by name.
	ids, err := s.Identities()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, info := range ids {
		names = append(names, info.Name)
	}
	if !slices.Equal(names, []string{"me", "other"}) {
		t.Fatalf("Identities() = %v", names)
	}

	// Remove: refused while keys depend on it, unless forced.
	if err := s.PutKey("k1", keyblob.NewSessionKey(), k, nil); err != nil {
		t.Fatal(err)
	}
	err = s.RemoveIdentity("me", nil)
	if err == nil || !strings.Contains(err.Error(), "k1") {
		t.Fatalf("RemoveIdentity with a dependent key = %v, want a refusal naming k1", err)
	}
	if _, err := s.Identity("me"); err != nil {
		t.Fatalf("refused removal removed: %v", err)
	}
	if err := s.RemoveIdentity("other", nil); err != nil {
		t.Fatalf("RemoveIdentity without keys: %v", err)
	}
	if err := s.RemoveIdentity("me", &RemoveOptions{Force: true}); err != nil {
		t.Fatalf("RemoveIdentity(force): %v", err)
	}
	if _, err := s.Identity("me"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("removed identity: %v", err)
	}
	if err := s.RemoveIdentity("me", &RemoveOptions{Force: true}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("RemoveIdentity(missing) = %v, want ErrNotFound", err)
	}
	// The orphaned key is listed, owned by nobody, and refused.
	info2, err := s.Key("k1")
	if err != nil || info2.Owner != "" {
		t.Fatalf("Key(k1) = %+v, %v", info2, err)
	}
	if _, err := s.GetKey("k1", unlocker(s, nil)); !errors.Is(err, ErrRefused) {
		t.Fatalf("GetKey(orphan) = %v, want ErrRefused", err)
	}
}

// TestIdentityMovedOrSwapped: a stored identity file renamed to another
// name is refused, so that one name cannot be made to stand for another
// identity by renaming files.
func TestIdentityMovedOrSwapped(t *testing.T) {
	s := newStore(t)
	mustIdentity(t, s, "alice", keyblob.KindX25519)
	mustIdentity(t, s, "bob", keyblob.KindX25519)
	dir := filepath.Join(s.Dir(), identitiesDir)
	// Swap the two files.
	must(t, os.Rename(filepath.Join(dir, "alice.id"), filepath.Join(dir, "tmp")))
	must(t, os.Rename(filepath.Join(dir, "bob.id"), filepath.Join(dir, "alice.id")))
	must(t, os.Rename(filepath.Join(dir, "tmp"), filepath.Join(dir, "bob.id")))
	for _, name := range []string{"alice", "bob"} {
		if _, err := s.Identity(name); err == nil || !strings.Contains(err.Error(), "moved or swapped") {
			t.Errorf("Identity(%s) after a swap = %v, want \"moved or swapped\"", name, err)
		}
		if _, err := s.Unlock(name, pass); err == nil || !strings.Contains(err.Error(), "moved or swapped") {
			t.Errorf("Unlock(%s) after a swap = %v, want \"moved or swapped\"", name, err)
		}
		if _, err := s.Recipient(name); err == nil {
			t.Errorf("Recipient(%s) after a swap succeeded", name)
		}
	}
	// A copy under a new name.
	data, _ := os.ReadFile(filepath.Join(dir, "bob.id"))
	must(t, os.WriteFile(filepath.Join(dir, "carol.id"), data, 0o600))
	if _, err := s.Unlock("carol", pass); err == nil || !strings.Contains(err.Error(), "moved or swapped") {
		t.Errorf("Unlock(carol) of a copied file = %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// identityLayout gives offsets in the binary body of a stored identity.
type identityLayout struct {
	nameLen, genCount int   // offsets of the u8 fields
	created, lines    []int // per generation: created, first byte of the line
	lineLens          []int
	params, ctLen, ct int
	end               int
}

func parseLayout(t *testing.T, body []byte) identityLayout {
	t.Helper()
	var l identityLayout
	s := cryptobyte.String(body[format.HeaderSize:])
	off := func() int { return len(body) - len(s) }
	var name cryptobyte.String
	var n uint8
	l.nameLen = off()
	if !s.ReadUint8LengthPrefixed(&name) {
		t.Fatal("layout: name")
	}
	l.genCount = off()
	if !s.ReadUint8(&n) {
		t.Fatal("layout: count")
	}
	for range n {
		var created uint64
		var line cryptobyte.String
		l.created = append(l.created, off())
		if !s.ReadUint64(&created) || !s.ReadUint16LengthPrefixed(&line) {
			t.Fatal("layout: generation")
		}
		l.lines = append(l.lines, off()-len(line))
		l.lineLens = append(l.lineLens, len(line))
	}
	l.params = off()
	if !s.Skip(password.EncodedSize) {
		t.Fatal("layout: params")
	}
	l.ctLen = off()
	var ctLen uint32
	if !s.ReadUint32(&ctLen) || !s.Skip(int(ctLen)) || !s.Empty() {
		t.Fatal("layout: ciphertext")
	}
	l.ct = l.ctLen + 4
	l.end = len(body)
	return l
}

func readBody(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	must(t, err)
	body, err := format.Unarmor(data, pemIdentity)
	must(t, err)
	return body
}

func writeBody(t *testing.T, path string, body []byte) {
	t.Helper()
	must(t, os.WriteFile(path, format.Armor(pemIdentity, body), 0o600))
}

// TestIdentityTamper: changing any part of a stored identity's file, the
// public header included, makes Unlock fail: the header is the AEAD's
// associated data and the keys are checked against it.
func TestIdentityTamper(t *testing.T) {
	s := newStore(t)
	mustIdentity(t, s, "me", keyblob.KindX25519)
	path := filepath.Join(s.Dir(), identitiesDir, "me.id")
	orig := readBody(t, path)
	l := parseLayout(t, orig)
	if got := string(orig[:format.HeaderSize]); got != "kblb"+"i\x01" {
		t.Fatalf("prefix %q", got)
	}
	if want := len(orig) - l.ct; want != int(uint32(orig[l.ctLen])<<24|uint32(orig[l.ctLen+1])<<16|uint32(orig[l.ctLen+2])<<8|uint32(orig[l.ctLen+3])) {
		t.Fatal("ciphertext length")
	}

	cases := []struct {
		name string
		off  int
		bit  byte
	}{
		{"created", l.created[0] + 7, 1},
		{"recipient line start", l.lines[0] + 20, 1},
		{"recipient line middle", l.lines[0] + l.lineLens[0]/2, 2},
		{"recipient line end", l.lines[0] + l.lineLens[0] - 2, 1},
		{"time (1 to 3 passes)", l.params + 3, 2},
		{"memory (8192 to 8193 KiB)", l.params + 7, 1},
		{"memory out of bounds", l.params + 4, 0x80},
		{"threads (1 to 3)", l.params + 8, 2},
		{"salt first", l.params + 9, 1},
		{"salt last", l.params + 24, 0x80},
		{"ciphertext first", l.ct, 1},
		{"ciphertext middle", l.ct + (l.end-l.ct)/2, 0x10},
		{"ciphertext tag", l.end - 1, 0x80},
		{"generation count", l.genCount, 2},
		{"ciphertext length", l.ctLen + 3, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := bytes.Clone(orig)
			body[c.off] ^= c.bit
			writeBody(t, path, body)
			defer writeBody(t, path, orig)
			k, err := s.Unlock("me", pass)
			if err == nil || k != nil {
				t.Fatalf("Unlock of a file changed at %d succeeded", c.off)
			}
			t.Logf("%v", err)
		})
	}
	// A bit flipped in every byte of the header: never unlocked.
	for off := format.HeaderSize; off < l.ct; off++ {
		body := bytes.Clone(orig)
		body[off] ^= 1 << (off % 8)
		writeBody(t, path, body)
		if k, err := s.Unlock("me", pass); err == nil || k != nil {
			t.Fatalf("Unlock of a file changed at %d succeeded", off)
		}
	}
	writeBody(t, path, orig)
	if _, err := s.Unlock("me", pass); err != nil {
		t.Fatalf("restored file: %v", err)
	}
	// Appended and truncated files.
	writeBody(t, path, append(bytes.Clone(orig), 0))
	if _, err := s.Unlock("me", pass); err == nil {
		t.Fatal("Unlock of an extended file succeeded")
	}
	writeBody(t, path, orig[:len(orig)-1])
	if _, err := s.Unlock("me", pass); err == nil {
		t.Fatal("Unlock of a truncated file succeeded")
	}
}

// TestIdentityHeaderMismatch: a file whose encrypted keys are not the
// keys its header lists is refused even with the right passphrase.
func TestIdentityHeaderMismatch(t *testing.T) {
	s := newStore(t)
	a := mustGenerate(t, keyblob.KindX25519)
	b := mustGenerate(t, keyblob.KindX25519)
	// Header says b, ciphertext holds a: built with the real encoder.
	k := &Keyring{Name: "me", Identities: []*keyblob.Identity{a}, Created: []time.Time{time.Now()}}
	data, err := encryptIdentity(k, pass, cheapParams)
	must(t, err)
	body, err := format.Unarmor(data, pemIdentity)
	must(t, err)
	l := parseLayout(t, body)
	lineA, lineB := a.Recipient().String(), b.Recipient().String()
	if len(lineA) != len(lineB) || string(body[l.lines[0]:l.lines[0]+l.lineLens[0]]) != lineA {
		t.Fatal("layout")
	}
	copy(body[l.lines[0]:], lineB)
	// Re-encrypt with the changed header as associated data, so that only
	// the consistency check can catch it.
	si, err := decodeIdentity(format.Armor(pemIdentity, body), "me")
	must(t, err)
	plain, err := identitiesPlaintext(k)
	must(t, err)
	ct, err := si.params.Seal(pass, password.StoredIdentity, plain, append([]byte(identityAADLabel), si.aad...))
	must(t, err)
	copy(body[l.ct:], ct)
	path := filepath.Join(s.Dir(), identitiesDir, "me.id")
	writeBody(t, path, body)
	_, err = s.Unlock("me", pass)
	if err == nil || !strings.Contains(err.Error(), "do not match its header") {
		t.Fatalf("Unlock of mismatched keys = %v", err)
	}
}

func TestBadNames(t *testing.T) {
	s := newStore(t)
	id := mustIdentity(t, s, "me", keyblob.KindX25519)
	k := mustUnlock(t, s, "me")
	bad := []string{"", "../x", "x/y", "/abs", ".hidden", "..", ".", "-dash", "_under",
		strings.Repeat("a", 65), "a b", "a\x00b", "é", "a\nb", "name.id/../x"}
	for _, name := range bad {
		checks := map[string]error{}
		_, checks["NewIdentity"] = s.NewIdentity(name, keyblob.KindX25519, pass)
		checks["ImportIdentity"] = s.ImportIdentity(name, id, pass)
		_, checks["Identity"] = s.Identity(name)
		_, checks["Unlock"] = s.Unlock(name, pass)
		checks["RemoveIdentity"] = s.RemoveIdentity(name, &RemoveOptions{Force: true})
		checks["AddContact"] = s.AddContact(name, id.Recipient(), &ContactOptions{Replace: true})
		_, checks["Contact"] = s.Contact(name)
		checks["RemoveContact"] = s.RemoveContact(name)
		checks["PutKey"] = s.PutKey(name, keyblob.NewSessionKey(), k, &KeyOptions{Replace: true})
		_, checks["Key"] = s.Key(name)
		_, checks["GetKey"] = s.GetKey(name, unlocker(s, nil))
		checks["RemoveKey"] = s.RemoveKey(name)
		checks["CheckName"] = CheckName(name)
		for op, err := range checks {
			if !errors.Is(err, ErrBadName) {
				t.Errorf("%s(%q) = %v, want ErrBadName", op, name, err)
			}
		}
	}
	// Nothing escaped the store.
	entries, _ := os.ReadDir(filepath.Dir(s.Dir()))
	if len(entries) != 1 {
		t.Errorf("files next to the store: %v", entries)
	}
	for _, good := range []string{"a", "A", "0", "me.work", "a-b_c.d", strings.Repeat("z", 64), "x..y"} {
		if err := CheckName(good); err != nil {
			t.Errorf("CheckName(%q) = %v", good, err)
		}
		if err := s.AddContact(good, id.Recipient(), nil); err != nil {
			t.Errorf("AddContact(%q) = %v", good, err)
		}
	}
}

func TestContacts(t *testing.T) {
	s := newStore(t)
	bob := mustGenerate(t, keyblob.KindHybrid).Recipient()
	bob2 := mustGenerate(t, keyblob.KindX25519).Recipient()
	carol := mustGenerate(t, keyblob.KindX25519).Recipient()
	must(t, s.AddContact("bob", bob, nil))
	must(t, s.AddContact("carol", carol, nil))
	checkMode(t, filepath.Join(s.Dir(), contactsDir, "bob.rcpt"), 0o644)

	c, err := s.Contact("bob")
	if err != nil || c.Name != "bob" || !c.Recipient.Equal(bob) {
		t.Fatalf("Contact(bob) = %+v, %v", c, err)
	}
	if err := s.AddContact("bob", bob2, nil); !errors.Is(err, ErrExists) {
		t.Fatalf("AddContact(taken) = %v, want ErrExists", err)
	}
	if c, _ := s.Contact("bob"); !c.Recipient.Equal(bob) {
		t.Fatal("refused AddContact replaced the contact")
	}
	must(t, s.AddContact("bob", bob2, &ContactOptions{Replace: true}))
	if c, _ := s.Contact("bob"); !c.Recipient.Equal(bob2) {
		t.Fatal("AddContact(replace) did not replace")
	}
	list, err := s.Contacts()
	if err != nil || len(list) != 2 || list[0].Name != "bob" || list[1].Name != "carol" {
		t.Fatalf("Contacts() = %v, %v", list, err)
	}
	must(t, s.RemoveContact("carol"))
	if _, err := s.Contact("carol"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Contact(removed) = %v", err)
	}
	if err := s.RemoveContact("carol"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("RemoveContact(missing) = %v", err)
	}
	// A damaged contact file is an error, not a recipient.
	must(t, os.WriteFile(filepath.Join(s.Dir(), contactsDir, "dan.rcpt"), []byte("keyblob:x25519:broken\n"), 0o644))
	if _, err := s.Contact("dan"); err == nil {
		t.Fatal("Contact(damaged) succeeded")
	}
}

// TestRecipient: a name resolves to a contact or to the current generation
// of a stored identity.
func TestRecipient(t *testing.T) {
	s := newStore(t)
	me := mustIdentity(t, s, "me", keyblob.KindX25519)
	bob := mustGenerate(t, keyblob.KindX25519).Recipient()
	must(t, s.AddContact("bob", bob, nil))
	r, err := s.Recipient("me")
	if err != nil || !r.Equal(me.Recipient()) {
		t.Fatalf("Recipient(me) = %v, %v", r, err)
	}
	if r, err := s.Recipient("bob"); err != nil || !r.Equal(bob) {
		t.Fatalf("Recipient(bob) = %v, %v", r, err)
	}
	newID, _, err := s.Rotate("me", pass)
	must(t, err)
	if r, _ := s.Recipient("me"); !r.Equal(newID.Recipient()) {
		t.Fatal("Recipient(me) is not the current generation after a rotation")
	}
	if _, err := s.Recipient("nobody"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Recipient(nobody) = %v, want ErrNotFound", err)
	}
}

func TestKeys(t *testing.T) {
	s := newStore(t)
	mustIdentity(t, s, "me", keyblob.KindHybrid)
	k := mustUnlock(t, s, "me")
	k1, k2 := keyblob.NewSessionKey(), keyblob.NewSessionKey()
	must(t, s.PutKey("k1", k1, k, &KeyOptions{Description: "first key"}))
	must(t, s.PutKey("k2", k2, k, nil))
	checkMode(t, filepath.Join(s.Dir(), keysDir, "k1.blob"), 0o600)
	checkMode(t, filepath.Join(s.Dir(), keysDir), 0o700)

	var calls atomic.Int32
	got, err := s.GetKey("k1", unlocker(s, &calls))
	if err != nil || !got.Equal(k1) {
		t.Fatalf("GetKey(k1) = %v, %v", got, err)
	}
	if calls.Load() != 1 {
		t.Errorf("unlock called %d times", calls.Load())
	}
	info, err := s.Key("k1")
	must(t, err)
	if info.Name != "k1" || info.Serial != k1.Serial() || info.Alg != keyblob.SessionAES256GCM ||
		info.Description != "first key" || info.Owner != "me" || !info.Blob.Signed() ||
		time.Since(info.Created) > time.Minute {
		t.Fatalf("Key(k1) = %+v", info)
	}
	if !info.Blob.Recipient().Equal(k.Current().Recipient().ExchangeFingerprint()) ||
		!info.Blob.Signer().Equal(k.Current().Recipient().SigningFingerprint()) {
		t.Fatal("the blob is not wrapped to and signed by the current generation")
	}
	// The stored file is the blob, and holds no secret in the clear.
	data, _ := os.ReadFile(filepath.Join(s.Dir(), keysDir, "k1.blob"))
	if !bytes.Equal(data, info.Blob.Marshal()) || bytes.Contains(data, k1.Bytes()) {
		t.Fatal("stored key file")
	}

	// Names are not replaced unless asked.
	if err := s.PutKey("k1", k2, k, nil); !errors.Is(err, ErrExists) {
		t.Fatalf("PutKey(taken) = %v, want ErrExists", err)
	}
	if got, _ := s.GetKey("k1", unlocker(s, nil)); !got.Equal(k1) {
		t.Fatal("refused PutKey replaced the key")
	}
	must(t, s.PutKey("k1", k2, k, &KeyOptions{Description: "replaced", Replace: true}))
	if got, _ := s.GetKey("k1", unlocker(s, nil)); !got.Equal(k2) {
		t.Fatal("PutKey(replace) did not replace")
	}

	// A derived key is stored as its key and serial.
	dk, err := keyblob.DeriveSessionKey([]byte("pw"), password.Params{Time: 1, MemoryKiB: 8192, Threads: 1})
	must(t, err)
	must(t, s.PutKey("derived", dk, k, nil))
	got, err = s.GetKey("derived", unlocker(s, nil))
	if err != nil || got.Serial() != dk.Serial() || !bytes.Equal(got.Bytes(), dk.Bytes()) {
		t.Fatalf("GetKey(derived) = %v, %v", got, err)
	}

	list, err := s.Keys()
	must(t, err)
	var names []string
	for _, info := range list {
		names = append(names, info.Name)
	}
	if !slices.Equal(names, []string{"derived", "k1", "k2"}) {
		t.Fatalf("Keys() = %v", names)
	}

	// Temporary files of interrupted writes, and other files, are not keys.
	keys := filepath.Join(s.Dir(), keysDir)
	must(t, os.WriteFile(filepath.Join(keys, ".k3.blob.tmp-123456"), data, 0o600))
	must(t, os.WriteFile(filepath.Join(keys, "notes.txt"), []byte("x"), 0o600))
	must(t, os.WriteFile(filepath.Join(keys, ".blob"), data, 0o600))
	list, err = s.Keys()
	if err != nil || len(list) != 3 {
		t.Fatalf("Keys() with stray files = %d keys, %v", len(list), err)
	}

	must(t, s.RemoveKey("k2"))
	if _, err := s.Key("k2"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Key(removed) = %v", err)
	}
	if _, err := s.GetKey("k2", unlocker(s, nil)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetKey(removed) = %v", err)
	}
	if err := s.RemoveKey("k2"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("RemoveKey(missing) = %v", err)
	}
	// A damaged blob can still be removed.
	must(t, os.WriteFile(filepath.Join(keys, "junk.blob"), []byte("junk"), 0o600))
	if _, err := s.Key("junk"); !errors.Is(err, ErrRefused) {
		t.Fatalf("Key(junk) = %v, want ErrRefused", err)
	}
	must(t, s.RemoveKey("junk"))

	// A wrong passphrase gives no key.
	_, err = s.GetKey("k1", func(name string) (*Keyring, error) { return s.Unlock(name, wrong) })
	if !errors.Is(err, ErrPassphrase) {
		t.Fatalf("GetKey(wrong passphrase) = %v", err)
	}
}

// TestPutKeyNeedsBothRoles: a stored key must be wrapped to and signed by
// its identity, so an identity that cannot sign cannot store keys.
func TestPutKeyNeedsBothRoles(t *testing.T) {
	s := newStore(t)
	full := mustGenerate(t, keyblob.KindX25519)
	pemData, err := full.MarshalPEM()
	must(t, err)
	// The first PEM block alone is the X25519 exchange key.
	exchangeOnly, err := keyblob.ParseIdentity(pemData[:bytes.Index(pemData, []byte("-----END PRIVATE KEY-----\n"))+len("-----END PRIVATE KEY-----\n")])
	must(t, err)
	if exchangeOnly.CanSign() {
		t.Fatal("test identity can sign")
	}
	must(t, s.ImportIdentity("rx", exchangeOnly, pass))
	k := mustUnlock(t, s, "rx")
	if err := s.PutKey("k", keyblob.NewSessionKey(), k, nil); err == nil {
		t.Fatal("PutKey with an identity that cannot sign succeeded")
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), keysDir, "k.blob")); err == nil {
		t.Fatal("a key was stored")
	}
}

// TestSubstitution is CryptoAPI's "Storing Session Keys" attack: only blobs signed by a generation of the
// identity they are wrapped to are opened; anything else is refused with
// the key's name and without unwrapping.
func TestSubstitution(t *testing.T) {
	s := newStore(t)
	mustIdentity(t, s, "me", keyblob.KindHybrid)
	mustIdentity(t, s, "work", keyblob.KindX25519)
	me := mustUnlock(t, s, "me")
	mallory := mustGenerate(t, keyblob.KindHybrid)
	mine := keyblob.NewSessionKey()
	must(t, s.PutKey("k", mine, me, nil))
	path := filepath.Join(s.Dir(), keysDir, "k.blob")
	orig, _ := os.ReadFile(path)
	theirs := keyblob.NewSessionKey() // a key mallory knows

	export := func(to *keyblob.Recipient, signer *keyblob.Identity) []byte {
		b, err := keyblob.Export(theirs, to, &keyblob.ExportOptions{Signer: signer})
		must(t, err)
		return b.Marshal()
	}
	work := mustUnlock(t, s, "work")
	cases := []struct {
		name   string
		blob   []byte
		want   string
		unlock bool // whether the owner's passphrase is asked
	}{
		{"unsigned for me", export(me.Current().Recipient(), nil), "not signed", true},
		{"for me, signed by mallory", export(me.Current().Recipient(), mallory), "signed by", true},
		{"for me, signed by my other identity", export(me.Current().Recipient(), work.Current()), "signed by", true},
		{"for mallory, signed by mallory", export(mallory.Recipient(), mallory), "none of your identities", false},
		{"for mallory, unsigned", export(mallory.Recipient(), nil), "none of your identities", false},
		{"for mallory, signed by me", export(mallory.Recipient(), me.Current()), "none of your identities", false},
		{"for work, signed by me", export(work.Current().Recipient(), me.Current()), "signed by", true},
		{"armored, unsigned for me", func() []byte {
			b, _ := keyblob.ParseKeyBlob(export(me.Current().Recipient(), nil))
			return b.MarshalPEM()
		}(), "not signed", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			must(t, os.WriteFile(path, c.blob, 0o600))
			defer os.WriteFile(path, orig, 0o600)
			var calls atomic.Int32
			key, err := s.GetKey("k", unlocker(s, &calls))
			if key != nil || !errors.Is(err, ErrRefused) {
				t.Fatalf("GetKey = %v, %v; want ErrRefused", key, err)
			}
			if !strings.Contains(err.Error(), `"k"`) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not name the key or say %q", err, c.want)
			}
			if got := calls.Load() == 1; got != c.unlock {
				t.Errorf("passphrase asked: %v, want %v", got, c.unlock)
			}
		})
	}
	// A blob that does not parse.
	must(t, os.WriteFile(path, []byte("not a blob"), 0o600))
	if _, err := s.GetKey("k", unlocker(s, nil)); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), `"k"`) {
		t.Fatalf("GetKey(junk) = %v", err)
	}
	must(t, os.WriteFile(path, orig, 0o600))
	if got, err := s.GetKey("k", unlocker(s, nil)); err != nil || !got.Equal(mine) {
		t.Fatalf("restored: %v, %v", got, err)
	}
	// Another of my own stored blobs under this name is accepted: names are
	// not bound to blobs (spec/keystore.md, security considerations).
	other := keyblob.NewSessionKey()
	must(t, s.PutKey("k2", other, me, nil))
	data2, _ := os.ReadFile(filepath.Join(s.Dir(), keysDir, "k2.blob"))
	must(t, os.WriteFile(path, data2, 0o600))
	if got, err := s.GetKey("k", unlocker(s, nil)); err != nil || !got.Equal(other) {
		t.Fatalf("swapped own blob: %v, %v", got, err)
	}
}

// TestTamperEveryByte flips a bit in every byte of a stored blob: each is
// refused, never opened to a key.
func TestTamperEveryByte(t *testing.T) {
	s := newStore(t)
	mustIdentity(t, s, "me", keyblob.KindHybrid)
	me := mustUnlock(t, s, "me")
	must(t, s.PutKey("k", keyblob.NewSessionKey(), me, &KeyOptions{Description: "a description"}))
	path := filepath.Join(s.Dir(), keysDir, "k.blob")
	orig, _ := os.ReadFile(path)
	unlock := unlocker(s, nil)
	kinds := map[string]int{}
	for _, bit := range []byte{0x01, 0x80} {
		for i := range orig {
			data := bytes.Clone(orig)
			data[i] ^= bit
			must(t, os.WriteFile(path, data, 0o600))
			key, err := s.GetKey("k", unlock)
			if key != nil || err == nil {
				t.Fatalf("byte %d ^ %#x: GetKey returned a key", i, bit)
			}
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), `"k"`) {
				t.Fatalf("byte %d ^ %#x: %v, want ErrRefused naming the key", i, bit, err)
			}
			msg := err.Error()
			switch {
			case strings.Contains(msg, "not a valid key blob"):
				kinds["malformed"]++
			case strings.Contains(msg, "none of your identities"):
				kinds["wrapped elsewhere"]++
			case strings.Contains(msg, "signed by"):
				kinds["other signer"]++
			case strings.Contains(msg, "not signed"):
				kinds["unsigned"]++
			default:
				kinds["failed verification"]++
			}
		}
	}
	t.Logf("%d bytes x 2 flips: %v", len(orig), kinds)
	must(t, os.WriteFile(path, orig, 0o600))
	if _, err := s.GetKey("k", unlock); err != nil {
		t.Fatal(err)
	}
}

// TestRotation rotates twice: old generations are kept, stored keys are
// re-wrapped, and what was made for generation 1 still opens.
func TestRotation(t *testing.T) {
	s := newStore(t)
	gen1 := mustIdentity(t, s, "me", keyblob.KindHybrid)
	me := mustUnlock(t, s, "me")
	keys := map[string]*keyblob.SessionKey{"a": keyblob.NewSessionKey(), "b": keyblob.NewSessionKey()}
	for name, key := range keys {
		must(t, s.PutKey(name, key, me, &KeyOptions{Description: "desc " + name}))
	}
	// A key someone sent to generation 1, and a key of another identity.
	bob := mustGenerate(t, keyblob.KindX25519)
	sent := keyblob.NewSessionKey()
	sentBlob, err := keyblob.Export(sent, gen1.Recipient(), &keyblob.ExportOptions{Signer: bob})
	must(t, err)
	mustIdentity(t, s, "work", keyblob.KindX25519)
	work := mustUnlock(t, s, "work")
	workKey := keyblob.NewSessionKey()
	must(t, s.PutKey("w", workKey, work, nil))
	workBlob, _ := os.ReadFile(filepath.Join(s.Dir(), keysDir, "w.blob"))

	gens := []*keyblob.Identity{gen1}
	for round := 1; round <= 2; round++ {
		id, rewrapped, err := s.Rotate("me", pass)
		must(t, err)
		gens = append(gens, id)
		slices.Sort(rewrapped)
		if !slices.Equal(rewrapped, []string{"a", "b"}) {
			t.Fatalf("round %d: rewrapped %v", round, rewrapped)
		}
		if id.Kind() != keyblob.KindHybrid || id.Recipient().Equal(gens[round-1].Recipient()) {
			t.Fatalf("round %d: new generation %v", round, id.Recipient())
		}
	}
	info, err := s.Identity("me")
	must(t, err)
	if len(info.Generations) != 3 {
		t.Fatalf("%d generations", len(info.Generations))
	}
	for i, g := range info.Generations {
		if !g.Recipient.Equal(gens[i].Recipient()) {
			t.Fatalf("generation %d is not the one made", i)
		}
	}
	k := mustUnlock(t, s, "me")
	if len(k.Identities) != 3 || !k.Current().Recipient().Equal(gens[2].Recipient()) {
		t.Fatal("keyring after rotation")
	}
	// Stored keys: re-wrapped to, and signed by, generation 3; same keys.
	for name, key := range keys {
		ki, err := s.Key(name)
		must(t, err)
		if !ki.Blob.Recipient().Equal(gens[2].Recipient().ExchangeFingerprint()) ||
			!ki.Blob.Signer().Equal(gens[2].Recipient().SigningFingerprint()) || ki.Description != "desc "+name {
			t.Fatalf("key %s after rotation: %+v", name, ki)
		}
		got, err := s.GetKey(name, unlocker(s, nil))
		if err != nil || !got.Equal(key) {
			t.Fatalf("GetKey(%s) after rotation: %v", name, err)
		}
	}
	// Another identity's key is untouched.
	if data, _ := os.ReadFile(filepath.Join(s.Dir(), keysDir, "w.blob")); !bytes.Equal(data, workBlob) {
		t.Fatal("rotation of me changed a key of work")
	}
	// What was made for generation 1 opens with generation 1.
	id := k.ByExchange(sentBlob.Recipient())
	if id == nil || !id.Recipient().Equal(gen1.Recipient()) {
		t.Fatal("ByExchange does not find generation 1")
	}
	got, err := keyblob.Import(sentBlob, id, &keyblob.ImportOptions{Verify: bob.Recipient()})
	if err != nil || !got.Equal(sent) {
		t.Fatalf("Import of a generation-1 blob: %v", err)
	}
	if k.BySigning(gen1.Recipient().SigningFingerprint()) == nil || k.BySigning(bob.Recipient().SigningFingerprint()) != nil {
		t.Fatal("BySigning")
	}
	if k.ByExchange(bob.Recipient().ExchangeFingerprint()) != nil {
		t.Fatal("ByExchange found a stranger")
	}
	// A generation-1 blob signed by generation 1 and stored under a name
	// (say, restored from a backup) still opens.
	old, err := keyblob.Export(sent, gen1.Recipient(), &keyblob.ExportOptions{Signer: gen1})
	must(t, err)
	must(t, os.WriteFile(filepath.Join(s.Dir(), keysDir, "old.blob"), old.Marshal(), 0o600))
	if got, err := s.GetKey("old", unlocker(s, nil)); err != nil || !got.Equal(sent) {
		t.Fatalf("GetKey(old generation): %v", err)
	}
	// The old passphrase still unlocks; the keys can be removed only by force.
	if err := s.RemoveIdentity("me", nil); err == nil {
		t.Fatal("RemoveIdentity with keys after rotation succeeded")
	}
}

// TestInterruptedRotation: a rotation that wrote the new keyring but did
// not re-wrap the keys leaves them readable; RewrapKeys finishes it.
func TestInterruptedRotation(t *testing.T) {
	s := newStore(t)
	mustIdentity(t, s, "me", keyblob.KindX25519)
	me := mustUnlock(t, s, "me")
	keys := map[string]*keyblob.SessionKey{}
	for i := range 3 {
		name := fmt.Sprintf("k%d", i)
		keys[name] = keyblob.NewSessionKey()
		must(t, s.PutKey(name, keys[name], me, nil))
	}
	// The first half of Rotate: the new keyring is written, nothing else.
	path := filepath.Join(s.Dir(), identitiesDir, "me.id")
	before, _ := os.ReadFile(path)
	k := mustUnlock(t, s, "me")
	k.Identities = append(k.Identities, mustGenerate(t, keyblob.KindX25519))
	k.Created = append(k.Created, time.Now().UTC().Truncate(time.Second))
	must(t, s.writeKeyring(k, pass, before))
	if info, _ := s.Identity("me"); len(info.Generations) != 2 {
		t.Fatal("the new keyring was not written")
	}
	for name, key := range keys {
		got, err := s.GetKey(name, unlocker(s, nil))
		if err != nil || !got.Equal(key) {
			t.Fatalf("GetKey(%s) after an interrupted rotation: %v", name, err)
		}
	}
	// A key put with the keyring unlocked before the rotation is wrapped
	// to the old generation; it too is readable and re-wrapped.
	keys["late"] = keyblob.NewSessionKey()
	must(t, s.PutKey("late", keys["late"], me, nil))

	k = mustUnlock(t, s, "me")
	done, err := s.RewrapKeys(k)
	must(t, err)
	slices.Sort(done)
	if !slices.Equal(done, []string{"k0", "k1", "k2", "late"}) {
		t.Fatalf("RewrapKeys = %v", done)
	}
	for name, key := range keys {
		ki, _ := s.Key(name)
		if !ki.Blob.Recipient().Equal(k.Current().Recipient().ExchangeFingerprint()) {
			t.Fatalf("%s not re-wrapped", name)
		}
		if got, err := s.GetKey(name, unlocker(s, nil)); err != nil || !got.Equal(key) {
			t.Fatalf("GetKey(%s) after RewrapKeys: %v", name, err)
		}
	}
	// Nothing left to do.
	if done, err := s.RewrapKeys(k); err != nil || len(done) != 0 {
		t.Fatalf("second RewrapKeys = %v, %v", done, err)
	}
	// A key that fails verification stops the re-wrap with ErrRefused.
	mallory := mustGenerate(t, keyblob.KindX25519)
	bad, _ := keyblob.Export(keyblob.NewSessionKey(), me.Current().Recipient(), &keyblob.ExportOptions{Signer: mallory})
	must(t, os.WriteFile(filepath.Join(s.Dir(), keysDir, "bad.blob"), bad.Marshal(), 0o600))
	if _, err := s.RewrapKeys(k); !errors.Is(err, ErrRefused) {
		t.Fatalf("RewrapKeys with a substituted key = %v, want ErrRefused", err)
	}
	if data, _ := os.ReadFile(filepath.Join(s.Dir(), keysDir, "bad.blob")); !bytes.Equal(data, bad.Marshal()) {
		t.Fatal("RewrapKeys re-signed a substituted key")
	}
}

// TestConcurrentRotate: two rotations at once never lose a generation
// that a stored key is wrapped to.
func TestConcurrentRotate(t *testing.T) {
	for round := range 5 {
		s := newStore(t)
		mustIdentity(t, s, "me", keyblob.KindX25519)
		me := mustUnlock(t, s, "me")
		key := keyblob.NewSessionKey()
		must(t, s.PutKey("k", key, me, nil))
		var wg sync.WaitGroup
		var ok atomic.Int32
		for range 3 {
			wg.Go(func() {
				if _, _, err := s.Rotate("me", pass); err == nil {
					ok.Add(1)
				} else {
					t.Logf("round %d: concurrent Rotate: %v", round, err)
				}
			})
		}
		wg.Wait()
		if ok.Load() == 0 {
			t.Fatal("every concurrent Rotate failed")
		}
		info, err := s.Identity("me")
		must(t, err)
		if len(info.Generations) != 1+int(ok.Load()) {
			t.Fatalf("round %d: %d rotations succeeded, %d generations", round, ok.Load(), len(info.Generations))
		}
		got, err := s.GetKey("k", unlocker(s, nil))
		if err != nil || !got.Equal(key) {
			t.Fatalf("round %d: GetKey after concurrent rotations: %v", round, err)
		}
	}
}

// TestConcurrentPuts: puts from many goroutines, each with its own Store
// as separate processes would, all land.
func TestConcurrentPuts(t *testing.T) {
	s := newStore(t)
	mustIdentity(t, s, "me", keyblob.KindX25519)
	me := mustUnlock(t, s, "me")
	var mu sync.Mutex
	put := map[string]*keyblob.SessionKey{}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			st, err := Open(s.Dir(), testOptions)
			if err != nil {
				t.Error(err)
				return
			}
			for i := range 10 {
				name := fmt.Sprintf("w%d-%d", w, i)
				key := keyblob.NewSessionKey()
				if err := st.PutKey(name, key, me, nil); err != nil {
					t.Error(err)
					continue
				}
				// The same name from another goroutine is refused.
				if err := st.PutKey(name, keyblob.NewSessionKey(), me, nil); !errors.Is(err, ErrExists) {
					t.Errorf("second PutKey(%s) = %v", name, err)
				}
				mu.Lock()
				put[name] = key
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	list, err := s.Keys()
	must(t, err)
	if len(list) != len(put) || len(put) != 80 {
		t.Fatalf("%d keys listed, %d put", len(list), len(put))
	}
	unlock := unlocker(s, nil)
	for name, key := range put {
		if got, err := s.GetKey(name, unlock); err != nil || !got.Equal(key) {
			t.Fatalf("GetKey(%s): %v", name, err)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(s.Dir(), keysDir, ".*.tmp-*")); len(left) > 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

// TestLocked holds the store's lock as another process would: writes wait
// for LockTimeout, then fail with ErrLocked and change nothing; reads do not
// wait.
func TestLocked(t *testing.T) {
	s := newStore(t)
	mustIdentity(t, s, "me", keyblob.KindX25519)
	me := mustUnlock(t, s, "me")
	key := keyblob.NewSessionKey()
	must(t, s.PutKey("k", key, me, nil))

	f, err := os.OpenFile(filepath.Join(s.Dir(), lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	must(t, err)
	defer f.Close()
	must(t, unix.Flock(int(f.Fd()), unix.LOCK_EX))
	checkMode(t, filepath.Join(s.Dir(), lockFile), 0o600)

	s = withLockTimeout(t, s, 200*time.Millisecond)
	writes := map[string]func() error{
		"PutKey":         func() error { return s.PutKey("k2", keyblob.NewSessionKey(), me, nil) },
		"AddContact":     func() error { return s.AddContact("bob", me.Current().Recipient(), nil) },
		"NewIdentity":    func() error { _, err := s.NewIdentity("you", keyblob.KindX25519, pass); return err },
		"RemoveKey":      func() error { return s.RemoveKey("k") },
		"RemoveIdentity": func() error { return s.RemoveIdentity("me", &RemoveOptions{Force: true}) },
		"Rotate":         func() error { _, _, err := s.Rotate("me", pass); return err },
	}
	for op, write := range writes {
		start := time.Now()
		err := write()
		if !errors.Is(err, ErrLocked) {
			t.Errorf("%s while locked = %v, want ErrLocked", op, err)
		}
		if d := time.Since(start); d < 200*time.Millisecond || d > 5*time.Second {
			t.Errorf("%s gave up after %v", op, d)
		}
		if err != nil && !strings.Contains(err.Error(), "locked by another process") {
			t.Errorf("%s: error %q", op, err)
		}
	}
	// Nothing changed.
	entries := func(sub string) []string {
		ents, _ := os.ReadDir(filepath.Join(s.Dir(), sub))
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return names
	}
	if got := entries(keysDir); !slices.Equal(got, []string{"k.blob"}) {
		t.Errorf("keys while locked: %v", got)
	}
	if got := entries(contactsDir); len(got) != 0 {
		t.Errorf("contacts while locked: %v", got)
	}
	if got := entries(identitiesDir); !slices.Equal(got, []string{"me.gens", "me.id"}) {
		t.Errorf("identities while locked: %v", got)
	}
	if info, _ := s.Identity("me"); len(info.Generations) != 1 {
		t.Error("Rotate while locked added a generation")
	}
	// Reads take no lock.
	if got, err := s.GetKey("k", unlocker(s, nil)); err != nil || !got.Equal(key) {
		t.Errorf("GetKey while locked: %v", err)
	}
	if _, err := s.Keys(); err != nil {
		t.Errorf("Keys while locked: %v", err)
	}

	// A write waiting for the lock gets it when it is released.
	s = withLockTimeout(t, s, 10*time.Second)
	done := make(chan error)
	go func() { done <- s.AddContact("bob", me.Current().Recipient(), nil) }()
	time.Sleep(100 * time.Millisecond)
	must(t, unix.Flock(int(f.Fd()), unix.LOCK_UN))
	if err := <-done; err != nil {
		t.Fatalf("write after the lock was released: %v", err)
	}
}

// TestPutKeyIdentityGone: a key is not stored for an identity that another
// process removed, or replaced under the same name, after it was unlocked:
// it could never be opened.
func TestPutKeyIdentityGone(t *testing.T) {
	s := newStore(t)
	mustIdentity(t, s, "me", keyblob.KindX25519)
	me := mustUnlock(t, s, "me")
	must(t, s.RemoveIdentity("me", nil))
	if err := s.PutKey("k", keyblob.NewSessionKey(), me, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("PutKey for a removed identity = %v, want ErrNotFound", err)
	}
	mustIdentity(t, s, "me", keyblob.KindX25519)
	err := s.PutKey("k", keyblob.NewSessionKey(), me, nil)
	if err == nil || !strings.Contains(err.Error(), "replaced") {
		t.Fatalf("PutKey for a replaced identity = %v", err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), keysDir, "k.blob")); err == nil {
		t.Fatal("a key was stored")
	}
	if _, err := s.RewrapKeys(me); err == nil {
		t.Fatal("RewrapKeys with a replaced identity succeeded")
	}
	// The keyring of the new identity works.
	must(t, s.PutKey("k", keyblob.NewSessionKey(), mustUnlock(t, s, "me"), nil))
}

// TestReplaceEntryChanged: the compare-and-swap behind Rotate and
// RewrapKeys writes nothing when the file changed or went away since it
// was read.
func TestReplaceEntryChanged(t *testing.T) {
	s := newStore(t)
	mustIdentity(t, s, "me", keyblob.KindX25519)
	me := mustUnlock(t, s, "me")
	must(t, s.PutKey("k", keyblob.NewSessionKey(), me, nil))
	e := entry{path: filepath.Join(s.Dir(), keysDir, "k.blob"), what: "key", name: "k", mode: 0o600}
	info, err := s.Key("k")
	must(t, err)
	newer := keyblob.NewSessionKey()
	must(t, s.PutKey("k", newer, me, &KeyOptions{Replace: true}))
	err = s.replaceEntry(e, []byte("stale"), info.raw)
	if !errors.Is(err, errChanged) {
		t.Fatalf("replaceEntry over a changed file = %v", err)
	}
	if got, err := s.GetKey("k", unlocker(s, nil)); err != nil || !got.Equal(newer) {
		t.Fatalf("the newer key was overwritten: %v", err)
	}
	must(t, s.RemoveKey("k"))
	if err := s.replaceEntry(e, []byte("stale"), info.raw); !errors.Is(err, errChanged) {
		t.Fatalf("replaceEntry over a removed file = %v", err)
	}
	if _, err := os.Stat(e.path); err == nil {
		t.Fatal("a removed key came back")
	}
	// Unchanged: replaced.
	must(t, s.PutKey("k", newer, me, nil))
	info, _ = s.Key("k")
	must(t, s.replaceEntry(e, []byte("new"), info.raw))
	if data, _ := os.ReadFile(e.path); string(data) != "new" {
		t.Fatal("replaceEntry of an unchanged file did not replace it")
	}
}

// TestStaleTempsRemoved leaves temporary files as a killed writer would, and
// checks that the next write, holding the lock, removes them.
func TestStaleTempsRemoved(t *testing.T) {
	s := newStore(t)
	stale := filepath.Join(s.Dir(), keysDir, ".k1.blob.tmp-123")
	must(t, os.WriteFile(stale, []byte("half written"), 0o600))
	mustIdentity(t, s, "me", keyblob.KindX25519)
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("stale temporary file still there after a write: %v", err)
	}
}

// TestRemoveDamagedIdentity checks that --force removes an identity file
// that no longer parses, while the plain remove refuses it.
func TestRemoveDamagedIdentity(t *testing.T) {
	s := newStore(t)
	mustIdentity(t, s, "me", keyblob.KindX25519)
	path := filepath.Join(s.Dir(), identitiesDir, "me"+identityExt)
	must(t, os.WriteFile(path, []byte("garbage"), 0o600))
	if err := s.RemoveIdentity("me", nil); err == nil {
		t.Fatal("removed a damaged identity without force")
	}
	if err := s.RemoveIdentity("me", &RemoveOptions{Force: true}); err != nil {
		t.Fatalf("force remove of a damaged identity: %v", err)
	}
	if err := s.RemoveIdentity("me", &RemoveOptions{Force: true}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("removing it again: %v, want ErrNotFound", err)
	}
}

// TestRotationKeepsKeyDates checks that re-wrapped keys keep their date.
func TestRotationKeepsKeyDates(t *testing.T) {
	s := newStore(t)
	mustIdentity(t, s, "me", keyblob.KindX25519)
	must(t, s.PutKey("k", keyblob.NewSessionKey(), mustUnlock(t, s, "me"), nil))
	before, err := s.Key("k")
	must(t, err)
	time.Sleep(1100 * time.Millisecond) // dates are whole seconds
	if _, done, err := s.Rotate("me", pass); err != nil || len(done) != 1 {
		t.Fatalf("rotate: %v %v", done, err)
	}
	after, err := s.Key("k")
	must(t, err)
	if !after.Created.Equal(before.Created) || after.Blob.Recipient().Equal(before.Blob.Recipient()) {
		t.Fatalf("after rotation: created %v (was %v), re-wrapped %v", after.Created, before.Created, !after.Blob.Recipient().Equal(before.Blob.Recipient()))
	}
}
