package keyblob

import (
	"bytes"
	"errors"
	"testing"
)

// TestKEM checks the KEM view of every exchange kind: a round trip, a
// different info or a flipped encapsulation never gives the same secret,
// and the exchange key encoding reads back to an equal recipient.
func TestKEM(t *testing.T) {
	info := []byte("kem test")
	for _, kind := range blobKinds {
		t.Run(kind, func(t *testing.T) {
			id := testIdentity(t, "kem", kind)
			r := id.Recipient()
			enc, secret, err := r.Encapsulate(info)
			if err != nil || len(secret) != 32 {
				t.Fatalf("Encapsulate: %d-byte secret, %v", len(secret), err)
			}
			got, err := id.Decapsulate(enc, info)
			if err != nil || !bytes.Equal(got, secret) {
				t.Fatalf("Decapsulate: %v (equal %v)", err, bytes.Equal(got, secret))
			}
			if other, err := id.Decapsulate(enc, []byte("other info")); err == nil && bytes.Equal(other, secret) {
				t.Error("another info gave the same secret")
			}
			flipped := bytes.Clone(enc)
			flipped[len(flipped)/2] ^= 1
			if other, err := id.Decapsulate(flipped, info); err == nil && bytes.Equal(other, secret) {
				t.Error("a flipped encapsulation gave the same secret")
			}
			ex, err := ParseExchangeKey(r.ExchangeAlg(), r.ExchangeKeyBytes())
			if err != nil {
				t.Fatal(err)
			}
			if ex.ExchangeFingerprint() != r.ExchangeFingerprint() || ex.CanVerify() {
				t.Errorf("ParseExchangeKey: %v, want the exchange-only recipient of %v", ex, r)
			}
			if _, _, err := ex.Encapsulate(info); err != nil {
				t.Errorf("Encapsulate to the parsed key: %v", err)
			}
		})
	}
}

// TestKEMRefusals checks the errors of the KEM view.
func TestKEMRefusals(t *testing.T) {
	signer := testIdentity(t, "kem", KindX25519)
	only, err := ParseSigningKey(signer.Recipient().SignatureAlg(), signer.Recipient().SigningKeyBytes())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := only.Encapsulate(nil); !errors.Is(err, ErrCannotExchange) {
		t.Errorf("Encapsulate to a signing-only recipient: %v", err)
	}
	if only.ExchangeKeyBytes() != nil {
		t.Error("ExchangeKeyBytes of a signing-only recipient is not nil")
	}
	for _, tc := range []struct {
		alg ExchangeAlg
		raw []byte
	}{
		{ExchangeNone, nil},
		{ExchangeX25519, make([]byte, 31)},
		{ExchangeHybrid, make([]byte, 32)},
		{ExchangeRSAOAEP, []byte{0x30, 0x00}},
		{ExchangeAlg(9), make([]byte, 32)},
	} {
		if _, err := ParseExchangeKey(tc.alg, tc.raw); !errors.Is(err, ErrMalformedRecipient) {
			t.Errorf("ParseExchangeKey(%v, %d bytes): %v, want ErrMalformedRecipient", tc.alg, len(tc.raw), err)
		}
	}
}
