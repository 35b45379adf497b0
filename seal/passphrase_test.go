package seal

import (
	"bytes"
	"errors"
	"testing"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/password"
)

// TestPassStanzaIsNotAStoredIdentityKey performs finding 9's cross-protocol
// attack on a real stanza. Its wrapped session key, under the same
// passphrase and salt as a stored identity file, must neither give the
// identity file's keystream (the attacker knows the session key of a message
// sent to it) nor open as one, and the reverse must fail too.
func TestPassStanzaIsNotAStoredIdentityKey(t *testing.T) {
	pass, prefix := []byte("one passphrase"), []byte("header prefix")
	params := cheapParams
	params.Salt = [password.SaltSize]byte{7}
	key := keyblob.NewSessionKey()
	p, err := newPassStanza(pass, params, key, prefix)
	if err != nil {
		t.Fatal(err)
	}
	// The stored identity's first plaintext bytes are easy to guess.
	guess := []byte("\x00\x00-----BEGIN KEYBLOB IDENTITY---")
	stored, err := params.Seal(pass, password.StoredIdentity, guess, prefix)
	if err != nil {
		t.Fatal(err)
	}
	keystream := make([]byte, keyblob.SessionKeySize)
	for i := range keystream {
		keystream[i] = p.wrapped[i] ^ key.Bytes()[i]
	}
	if bytes.Equal(xor(keystream, stored), guess) {
		t.Fatal("the stanza's keystream decrypts a stored identity made with the same salt")
	}
	if _, err := params.Open(pass, password.StoredIdentity, p.wrapped, passAAD(prefix)); !errors.Is(err, ErrPassphrase) {
		t.Errorf("the stanza opened as a stored identity: %v", err)
	}
	forged := &passStanza{params: params, wrapped: stored}
	if _, err := forged.unwrap(pass, prefix); !errors.Is(err, ErrPassphrase) {
		t.Errorf("a stored identity ciphertext opened as a stanza: %v", err)
	}
	if got, err := p.unwrap(pass, prefix); err != nil || !bytes.Equal(got, key.Bytes()) {
		t.Fatalf("the stanza itself does not open: %v", err)
	}
}

func xor(a, b []byte) []byte {
	out := make([]byte, min(len(a), len(b)))
	for i := range out {
		out[i] = a[i] ^ b[i]
	}
	return out
}
