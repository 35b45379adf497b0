package keyblob_test

import (
	"crypto/ed25519"
	"errors"
	"testing"

	"github.com/keyblob/keyblob"
)

// TestSignNote checks that SignNote makes plain Ed25519 signatures of the
// text, refuses text a note cannot carry and keys other than Ed25519.
func TestSignNote(t *testing.T) {
	id, err := keyblob.GenerateIdentity(keyblob.KindHybrid)
	if err != nil {
		t.Fatal(err)
	}
	text := []byte("origin\n7\nroot\n")
	sig, err := id.SignNote(text)
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(id.Recipient().SigningKeyBytes(), text, sig) {
		t.Error("SignNote's signature is not an Ed25519 signature of the text")
	}
	for _, bad := range []string{"", "no newline", "nul\x00\n", "bad utf-8 \xff\n", "tab\t\n", "keyblob/v1 signature\x00x\n"} {
		if _, err := id.SignNote([]byte(bad)); !errors.Is(err, keyblob.ErrNotNoteText) {
			t.Errorf("SignNote(%q) = %v, want ErrNotNoteText", bad, err)
		}
	}
	rsa, err := keyblob.GenerateIdentity(keyblob.KindRSA2048)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rsa.SignNote(text); !errors.Is(err, keyblob.ErrCannotSign) {
		t.Errorf("an RSA identity's SignNote = %v, want ErrCannotSign", err)
	}
}
