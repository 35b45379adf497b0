package keystore

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/keyblob/keyblob"
)

// TestDamagedIdentityBlocksNoOther damages one stored identity's file
// and checks that the others still work: Identities lists the good one,
// Keys still names its owner, Rotate of the good one re-wraps its key,
// and the damaged one is listed by IdentityEntries with its error.
func TestDamagedIdentityBlocksNoOther(t *testing.T) {
	s := newStore(t)
	mustIdentity(t, s, "good", keyblob.KindX25519)
	mustIdentity(t, s, "bad", keyblob.KindX25519)
	k := mustUnlock(t, s, "good")
	must(t, s.PutKey("k", keyblob.NewSessionKey(), k, nil))
	if err := os.WriteFile(filepath.Join(s.Dir(), identitiesDir, "bad"+identityExt), []byte("garbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ids, err := s.Identities()
	if err != nil || len(ids) != 1 || ids[0].Name != "good" {
		t.Fatalf("Identities() = %v, %v; want only good", ids, err)
	}
	keys, err := s.Keys()
	if err != nil || len(keys) != 1 || keys[0].Owner != "good" {
		t.Fatalf("Keys() = %v, %v", keys, err)
	}
	if _, rewrapped, err := s.Rotate("good", pass); err != nil || len(rewrapped) != 1 {
		t.Fatalf("Rotate(good) = %v, %v with another identity damaged", rewrapped, err)
	}
	entries, err := s.IdentityEntries()
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		if en.Name == "bad" && en.Err == nil {
			t.Error("the damaged identity is listed as good")
		}
	}
	if _, err := s.Unlock("bad", pass); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("Unlock(bad) = %v, want its damage", err)
	}
}
