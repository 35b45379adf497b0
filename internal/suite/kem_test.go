package suite

import (
	"bytes"
	"testing"
)

// TestNewEphemeral checks that ephemeral keys come from their seed alone
// and work as KEMs, and that only HPKE algorithms make them.
func TestNewEphemeral(t *testing.T) {
	seed := bytes.Repeat([]byte{7}, EphemeralSeedSize)
	for _, e := range []*Exchange{Hybrid, X25519} {
		k1, err := e.NewEphemeral(seed)
		if err != nil {
			t.Fatal(err)
		}
		k2, _ := e.NewEphemeral(seed)
		if !bytes.Equal(k1.Public().Bytes(), k2.Public().Bytes()) || len(k1.Public().Bytes()) != e.PublicSize {
			t.Errorf("%s: the same seed gave different keys, or a bad size", e.Name)
		}
		enc, secret, err := k1.Public().(KEMPublic).Encapsulate([]byte("i"))
		if err != nil {
			t.Fatal(err)
		}
		if lo, hi := e.EncapsulatedSize(); len(enc) != lo || lo != hi {
			t.Errorf("%s: enc of %d bytes, EncapsulatedSize %d..%d", e.Name, len(enc), lo, hi)
		}
		got, err := k2.(KEMPrivate).Decapsulate(enc, []byte("i"))
		if err != nil || !bytes.Equal(got, secret) {
			t.Errorf("%s: decapsulation: %v", e.Name, err)
		}
	}
	for _, e := range Exchanges() {
		k, _ := e.Generate(2048)
		_, okPub := KEMPublicOf(k.Public())
		_, okPriv := KEMPrivateOf(k)
		if !okPub || !okPriv {
			t.Errorf("%s has no KEM view", e.Name)
		}
	}
	if _, err := RSAOAEP.NewEphemeral(seed); err == nil {
		t.Error("RSA made an ephemeral key")
	}
	if _, err := X25519.NewEphemeral(seed[:31]); err == nil {
		t.Error("a 31-byte seed was accepted")
	}
}

// TestRSAKEM checks the RSA-OAEP KEM: a round trip, the label binding,
// the size of enc, and one error for every failure.
func TestRSAKEM(t *testing.T) {
	k, err := RSAOAEP.Generate(2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := KEMPublicOf(k.Public())
	enc, secret, err := pub.Encapsulate([]byte("label"))
	if err != nil || len(enc) != 256 || len(secret) != KEMSecretSize {
		t.Fatalf("Encapsulate: %d-byte enc, %v", len(enc), err)
	}
	if lo, hi := RSAOAEP.EncapsulatedSize(); lo != 256 || hi != 512 {
		t.Errorf("EncapsulatedSize = %d..%d", lo, hi)
	}
	kem, _ := KEMPrivateOf(k)
	if got, err := kem.Decapsulate(enc, []byte("label")); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Decapsulate: %v", err)
	}
	_, errLabel := kem.Decapsulate(enc, []byte("other"))
	short, _ := k.Public().Wrap(make([]byte, 31), []byte("label"))
	_, errSize := kem.Decapsulate(short, []byte("label"))
	if errLabel == nil || errLabel != errSize {
		t.Errorf("failures: %v and %v, want one error", errLabel, errSize)
	}
}
