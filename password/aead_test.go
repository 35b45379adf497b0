package password

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// labels are every Label of the package.
var labels = []Label{SealedStanza, StoredIdentity}

func TestLabelsAreDistinct(t *testing.T) {
	for i, a := range labels {
		if !strings.HasPrefix(string(a), "keyblob/v1 ") {
			t.Errorf("label %q lacks the keyblob/v1 prefix", a)
		}
		for _, b := range labels[i+1:] {
			if strings.HasPrefix(string(a), string(b)) || strings.HasPrefix(string(b), string(a)) {
				t.Errorf("labels %q and %q are equal or one is a prefix of the other", a, b)
			}
		}
	}
}

// TestAEADKeysDiffer derives the key of every label from the same
// passphrase, salt and parameters: each must differ from the others and
// from the raw Argon2id output (finding 9: one Argon2id output used as the
// key of two protocols).
func TestAEADKeysDiffer(t *testing.T) {
	pass := []byte("correct horse battery staple")
	raw, err := cheap.Key(pass, 32)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]Label{hex.EncodeToString(raw): "Argon2id output"}
	for _, l := range labels {
		k, err := cheap.aeadKey(pass, l)
		if err != nil {
			t.Fatal(err)
		}
		if other, ok := seen[hex.EncodeToString(k)]; ok {
			t.Fatalf("label %q gives the same key as %q", l, other)
		}
		seen[hex.EncodeToString(k)] = l
	}
}

// TestAEADKeyVector pins the construction: HKDF-Expand of the Argon2id
// output with the label as info.
func TestAEADKeyVector(t *testing.T) {
	pass := []byte("password")
	prk, err := cheap.Key(pass, 32)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range labels {
		want, _ := hkdf.Expand(sha256.New, prk, string(l), 32)
		got, err := cheap.aeadKey(pass, l)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%q: key %x, %v; want %x", l, got, err, want)
		}
	}
}

func TestSealOpen(t *testing.T) {
	pass, plain, aad := []byte("pass"), []byte("the session key, 32 bytes long!!"), []byte("header")
	ct, err := cheap.Seal(pass, SealedStanza, plain, aad)
	if err != nil {
		t.Fatal(err)
	}
	if len(ct) != len(plain)+Overhead {
		t.Fatalf("ciphertext of %d bytes, want %d", len(ct), len(plain)+Overhead)
	}
	if got, err := cheap.Open(pass, SealedStanza, ct, aad); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	flipped := bytes.Clone(ct)
	flipped[len(flipped)-1] ^= 1
	wrong := []struct {
		name  string
		p     Params
		pass  []byte
		label Label
		ct    []byte
		aad   []byte
	}{
		{"wrong passphrase", cheap, []byte("Pass"), SealedStanza, ct, aad},
		{"other salt", with(func(p *Params) { p.Salt[0] ^= 1 }), pass, SealedStanza, ct, aad},
		{"other label", cheap, pass, StoredIdentity, ct, aad},
		{"other aad", cheap, pass, SealedStanza, ct, []byte("Header")},
		{"flipped bit", cheap, pass, SealedStanza, flipped, aad},
		{"truncated", cheap, pass, SealedStanza, ct[:len(ct)-1], aad},
		{"empty", cheap, pass, SealedStanza, nil, aad},
	}
	for _, tt := range wrong {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.p.Open(tt.pass, tt.label, tt.ct, tt.aad)
			if err != ErrPassphrase || got != nil {
				t.Fatalf("Open = %q, %v; want nil, ErrPassphrase itself", got, err)
			}
		})
	}
}

// TestCrossProtocolKeystream performs the attack of finding 9. An attacker
// knows the plaintext of one use (a session key it was sent, or a guessed
// PEM prefix) and holds a ciphertext of another use made with the same
// passphrase and salt. With one key and the fixed nonce for both, XORing the
// two ciphertexts with the known plaintext reveals the other plaintext; and
// a ciphertext of one use opened as the other authenticates. Separate labels
// must stop both.
func TestCrossProtocolKeystream(t *testing.T) {
	pass, aad := []byte("one passphrase for everything"), []byte("same aad")
	known := bytes.Repeat([]byte{0x42}, 32)
	secret := []byte("-----BEGIN KEYBLOB IDENTITY-----")
	stanza, err := cheap.Seal(pass, SealedStanza, known, aad)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := cheap.Seal(pass, StoredIdentity, secret, aad)
	if err != nil {
		t.Fatal(err)
	}
	recovered := make([]byte, len(secret))
	for i := range recovered {
		recovered[i] = stanza[i] ^ known[i] ^ stored[i]
	}
	if bytes.Equal(recovered, secret) {
		t.Fatal("the stanza's keystream decrypts the stored identity: the two uses share a key")
	}
	if _, err := cheap.Open(pass, StoredIdentity, stanza, aad); err != ErrPassphrase {
		t.Errorf("a stanza opened as a stored identity: %v, want ErrPassphrase", err)
	}
	if _, err := cheap.Open(pass, SealedStanza, stored, aad); err != ErrPassphrase {
		t.Errorf("a stored identity opened as a stanza: %v, want ErrPassphrase", err)
	}
}

func TestSealRefuses(t *testing.T) {
	tests := []struct {
		name  string
		p     Params
		pass  []byte
		label Label
	}{
		{"parameters out of bounds", Params{Time: MaxTime + 1, MemoryKiB: MaxMemoryKiB, Threads: 1}, []byte("p"), SealedStanza},
		{"empty passphrase", cheap, nil, SealedStanza},
		{"empty label", cheap, []byte("p"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if ct, err := tt.p.Seal(tt.pass, tt.label, []byte("x"), nil); err == nil || ct != nil {
				t.Errorf("Seal = %x, %v; want an error", ct, err)
			}
			if pt, err := tt.p.Open(tt.pass, tt.label, make([]byte, 17), nil); err == nil || errors.Is(err, ErrPassphrase) {
				t.Errorf("Open = %x, %v; want an error other than ErrPassphrase", pt, err)
			}
		})
	}
}
