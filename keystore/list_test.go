package keystore

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/keyblob/keyblob"
)

// TestIdentityEntriesDamaged damages identities in every way a file can be
// damaged: each is listed with its reason, the good one with its public
// part, in name order, and Identities still fails as before.
func TestIdentityEntriesDamaged(t *testing.T) {
	s := newStore(t)
	for _, name := range []string{"a-good", "b-pem", "c-swapped", "d-record", "e-rolled", "f-unreadable"} {
		mustIdentity(t, s, name, keyblob.KindX25519)
	}
	// Rotated first: a damaged identity fails Rotate's key listing.
	old, err := os.ReadFile(s.idPath("e-rolled"))
	must(t, err)
	_, _, err = s.Rotate("e-rolled", pass)
	must(t, err)
	must(t, os.WriteFile(s.idPath("e-rolled"), old, 0o600))
	good, err := os.ReadFile(s.idPath("a-good"))
	must(t, err)
	must(t, os.WriteFile(s.idPath("b-pem"), []byte("-----BEGIN KEYBLOB STORED IDENTITY-----\nnot base64\n"), 0o600))
	must(t, os.WriteFile(s.idPath("c-swapped"), good, 0o600))
	must(t, os.WriteFile(filepath.Join(s.Dir(), identitiesDir, "d-record"+generationsExt), []byte("junk\n"), 0o600))
	must(t, os.Remove(s.idPath("f-unreadable")))
	must(t, os.Mkdir(s.idPath("f-unreadable"), 0o700))

	entries, err := s.IdentityEntries()
	if err != nil {
		t.Fatalf("IdentityEntries: %v", err)
	}
	want := map[string]string{
		"b-pem":        "armor",
		"c-swapped":    "moved or swapped",
		"d-record":     "generation record",
		"e-rolled":     "rolled back",
		"f-unreadable": "directory",
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name)
		reason, damaged := want[e.Name]
		switch {
		case !damaged && (e.Err != nil || e.Info == nil || e.Info.Name != e.Name):
			t.Errorf("%s: %v, want its public part", e.Name, e.Err)
		case damaged && (e.Err == nil || e.Info != nil):
			t.Errorf("%s: no error, want one about %q", e.Name, reason)
		case damaged && !strings.Contains(e.Err.Error(), reason):
			t.Errorf("%s: %v, want an error about %q", e.Name, e.Err, reason)
		}
	}
	if wantNames := []string{"a-good", "b-pem", "c-swapped", "d-record", "e-rolled", "f-unreadable"}; !slices.Equal(names, wantNames) {
		t.Errorf("listed %v, want %v", names, wantNames)
	}
	if !errors.Is(entries[4].Err, ErrRolledBack) {
		t.Errorf("the rolled-back identity: %v, want ErrRolledBack", entries[4].Err)
	}
	// Identities leaves malformed ones out (issue 21 item 1), but a
	// rolled-back one is evidence of tampering and fails it.
	if _, err := s.Identities(); !errors.Is(err, ErrRolledBack) {
		t.Errorf("Identities() = %v, want ErrRolledBack", err)
	}
}

// TestContactEntriesDamaged: a contact whose line is broken (here, with a
// typo: a changed character) is listed with its reason.
func TestContactEntriesDamaged(t *testing.T) {
	s := newStore(t)
	bob := mustGenerate(t, keyblob.KindX25519).Recipient()
	must(t, s.AddContact("bob", bob, nil))
	must(t, s.AddContact("carol", mustGenerate(t, keyblob.KindX25519).Recipient(), nil))
	line := []byte(bob.String())
	line[30] ^= 0x01
	must(t, os.WriteFile(filepath.Join(s.Dir(), contactsDir, "carol"+contactExt), append(line, '\n'), 0o644))
	entries, err := s.ContactEntries()
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Err != nil || !entries[0].Contact.Recipient.Equal(bob) {
		t.Fatalf("entries %+v, want bob then a damaged carol", entries)
	}
	if !errors.Is(entries[1].Err, keyblob.ErrRecipientChecksum) || entries[1].Contact != nil {
		t.Errorf("carol: %v, want ErrRecipientChecksum", entries[1].Err)
	}
}

// TestHasKeysAcrossGenerations: an identity has the keys of every
// generation, and not another identity's.
func TestHasKeysAcrossGenerations(t *testing.T) {
	s := newStore(t)
	first := mustIdentity(t, s, "me", keyblob.KindX25519).Recipient()
	second, _, err := s.Rotate("me", pass)
	must(t, err)
	other := mustGenerate(t, keyblob.KindX25519).Recipient()
	info, err := s.Identity("me")
	must(t, err)
	for _, r := range []*keyblob.Recipient{first, second.Recipient()} {
		if !info.HasExchange(r.ExchangeFingerprint()) || !info.HasSigning(r.SigningFingerprint()) {
			t.Errorf("a generation's keys are not found")
		}
	}
	if info.HasExchange(other.ExchangeFingerprint()) || info.HasSigning(other.SigningFingerprint()) ||
		info.HasExchange(first.SigningFingerprint()) || info.HasSigning(keyblob.Fingerprint{}) {
		t.Errorf("keys of another identity, or of another role, are found")
	}
}

// TestSigners names contacts and identities of a signature key, skipping
// damaged entries.
func TestSigners(t *testing.T) {
	s := newStore(t)
	me := mustIdentity(t, s, "me", keyblob.KindX25519).Recipient()
	bob := mustGenerate(t, keyblob.KindX25519).Recipient()
	must(t, s.AddContact("bob", bob, nil))
	must(t, s.AddContact("bobby", bob, nil))
	mustIdentity(t, s, "zz-damaged", keyblob.KindX25519)
	must(t, os.WriteFile(s.idPath("zz-damaged"), []byte("junk"), 0o600))
	tests := []struct {
		fp   keyblob.Fingerprint
		want []string
	}{
		{bob.SigningFingerprint(), []string{"bob", "bobby"}},
		{me.SigningFingerprint(), []string{"me"}},
		{me.ExchangeFingerprint(), nil},
		{mustGenerate(t, keyblob.KindX25519).Recipient().SigningFingerprint(), nil},
	}
	for _, tt := range tests {
		got, err := s.Signers(tt.fp)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("Signers(%s) = %v, %v; want %v", tt.fp, got, err, tt.want)
		}
	}
}

// TestRemoveDamagedContact: a contact that cannot be read can still be
// removed, as the listing's hint says.
func TestRemoveDamagedContact(t *testing.T) {
	s := newStore(t)
	path := filepath.Join(s.Dir(), contactsDir, "dan"+contactExt)
	must(t, os.WriteFile(path, []byte("keyblob:x25519:broken\n"), 0o644))
	if _, err := s.Contact("dan"); err == nil {
		t.Fatal("the damaged contact was read")
	}
	must(t, s.RemoveContact("dan"))
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the damaged contact is still there: %v", err)
	}
	if err := s.RemoveContact("dan"); !errors.Is(err, ErrNotFound) {
		t.Errorf("removing it again: %v, want ErrNotFound", err)
	}
}
