package keystore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyblob/keyblob"
)

// rotated makes a store with the identity me, one stored key k, and a
// rotation; it returns the store and the bytes of me.id before the rotation.
func rotated(t *testing.T) (*Store, []byte) {
	t.Helper()
	s := newStore(t)
	mustIdentity(t, s, "me", keyblob.KindX25519)
	must(t, s.PutKey("k", keyblob.NewSessionKey(), mustUnlock(t, s, "me"), nil))
	old, err := os.ReadFile(s.idPath("me"))
	must(t, err)
	_, _, err = s.Rotate("me", pass)
	must(t, err)
	return s, old
}

func (s *Store) idPath(name string) string {
	return filepath.Join(s.Dir(), identitiesDir, name+identityExt)
}

// TestRollbackDetected performs finding 11's attack: someone who can write
// the store puts back the identity file from before 'id rotate'. Every use
// of the identity, and every stored key, now fails with "rolled back?"
// naming the file, instead of silently using the old generation.
func TestRollbackDetected(t *testing.T) {
	s, old := rotated(t)
	must(t, os.WriteFile(s.idPath("me"), old, 0o600))
	uses := map[string]func() error{
		"Identity":       func() error { _, err := s.Identity("me"); return err },
		"Identities":     func() error { _, err := s.Identities(); return err },
		"Unlock":         func() error { _, err := s.Unlock("me", pass); return err },
		"Recipient":      func() error { _, err := s.Recipient("me"); return err },
		"Senders":        func() error { _, err := s.Senders("me"); return err },
		"Rotate":         func() error { _, _, err := s.Rotate("me", pass); return err },
		"Key":            func() error { _, err := s.Key("k"); return err },
		"Keys":           func() error { _, err := s.Keys(); return err },
		"GetKey":         func() error { _, err := s.GetKey("k", unlocker(s, nil)); return err },
		"RemoveIdentity": func() error { return s.RemoveIdentity("me", nil) },
	}
	for name, use := range uses {
		t.Run(name, func(t *testing.T) {
			err := use()
			if !errors.Is(err, ErrRolledBack) || !strings.Contains(err.Error(), "rolled back?") ||
				!strings.Contains(err.Error(), filepath.Join(identitiesDir, "me.id")) {
				t.Fatalf("%s = %v, want ErrRolledBack naming me.id", name, err)
			}
		})
	}
	// Rotate refused: it must not write a record that hides the rollback.
	if data, _ := os.ReadFile(s.idPath("me")); string(data) != string(old) {
		t.Fatal("a refused use changed the rolled-back file")
	}
}

// TestRollbackOfFileAndRecord: restoring the record too defeats the
// record, but not the stored keys, which are wrapped to the generation the
// file lacks: key get still refuses, and says rollback is a cause.
func TestRollbackOfFileAndRecord(t *testing.T) {
	s, old := rotated(t)
	must(t, os.WriteFile(s.idPath("me"), old, 0o600))
	must(t, os.Remove(filepath.Join(s.Dir(), identitiesDir, "me"+generationsExt)))
	if _, err := s.Identity("me"); err != nil {
		t.Fatalf("Identity without a record = %v", err)
	}
	_, err := s.GetKey("k", unlocker(s, nil))
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "rolled back") {
		t.Fatalf("GetKey = %v, want ErrRefused mentioning a rollback", err)
	}
}

// TestGenerationRecordStates: states a writer can leave, and a generation
// replaced in place.
func TestGenerationRecordStates(t *testing.T) {
	s, _ := rotated(t)
	k := mustUnlock(t, s, "me")
	recPath := filepath.Join(s.Dir(), identitiesDir, "me"+generationsExt)

	// A writer killed between the identity and its record leaves the
	// record one generation behind: accepted.
	behind := &Keyring{Name: "me", Identities: k.Identities[:1]}
	must(t, os.WriteFile(recPath, encodeGenerations(behind), 0o600))
	if _, err := s.Identity("me"); err != nil {
		t.Fatalf("a record behind the file: %v", err)
	}
	// The next write brings it up to date.
	_, _, err := s.Rotate("me", pass)
	must(t, err)
	k = mustUnlock(t, s, "me")
	if got, _ := s.readGenerations("me"); len(got) != 3 {
		t.Fatalf("record of %d generations after a rotation, want 3", len(got))
	}
	// A record naming another key at some generation: replaced.
	other := &Keyring{Name: "me", Identities: append([]*keyblob.Identity{mustGenerate(t, keyblob.KindX25519)}, k.Identities[1:]...)}
	must(t, os.WriteFile(recPath, encodeGenerations(other), 0o600))
	if _, err := s.Identity("me"); !errors.Is(err, ErrRolledBack) || !strings.Contains(err.Error(), "generation 1") {
		t.Fatalf("a replaced generation: %v, want ErrRolledBack", err)
	}
	// A removed identity takes its record with it, and a new one of the
	// same name gets its own.
	must(t, s.RemoveIdentity("me", &RemoveOptions{Force: true}))
	if _, err := os.Stat(recPath); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the record outlived its identity: %v", err)
	}
	must(t, os.WriteFile(recPath, encodeGenerations(k), 0o600)) // stale, planted
	mustIdentity(t, s, "me", keyblob.KindX25519)
	if _, err := s.Identity("me"); err != nil {
		t.Fatalf("a new identity inherited a stale record: %v", err)
	}
}

func TestDecodeGenerations(t *testing.T) {
	k := &Keyring{Name: "me", Identities: []*keyblob.Identity{mustGenerate(t, keyblob.KindX25519)}}
	good := string(encodeGenerations(k))
	fp := k.Identities[0].Recipient().Fingerprint().String()
	if got, err := decodeGenerations([]byte(good), "me"); err != nil || len(got) != 1 {
		t.Fatalf("decode of a good record = %v, %v", got, err)
	}
	bad := map[string]string{
		"empty":             "",
		"header only":       generationsHeader + "\"me\"\n",
		"other name":        strings.Replace(good, `"me"`, `"you"`, 1),
		"no final newline":  strings.TrimSuffix(good, "\n"),
		"blank line":        good + "\n",
		"CRLF":              strings.ReplaceAll(good, "\n", "\r\n"),
		"not a fingerprint": generationsHeader + "\"me\"\nkeyblob:x25519:abc\n",
		"trailing space":    strings.Replace(good, fp, fp+" ", 1),
		"too many":          generationsHeader + "\"me\"\n" + strings.Repeat(fp+"\n", maxGenerations+1),
	}
	for name, data := range bad {
		if got, err := decodeGenerations([]byte(data), "me"); err == nil {
			t.Errorf("%s: decoded %v", name, got)
		}
	}
}
