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

// TestKEMRefusesBlobLabels: an RSA decapsulation with a key blob's label
// is that blob's unwrap (RSA-OAEP with the same label), which would give
// its session key without Import's checks. Decapsulate, Encapsulate,
// WrapSecret and UnwrapSecret refuse every info or label that starts as a
// key blob's; Import still opens the blob.
func TestKEMRefusesBlobLabels(t *testing.T) {
	for _, kind := range blobKinds {
		t.Run(kind, func(t *testing.T) {
			id := testIdentity(t, "kem", kind)
			key := NewSessionKey()
			b, err := Export(key, id.Recipient(), &ExportOptions{Signer: id})
			if err != nil {
				t.Fatal(err)
			}
			label := b.f.label()
			for _, info := range [][]byte{label, []byte(wrapLabel), []byte("keyblob/v1 key blob"), []byte("keyblob/v1 key blob and more")} {
				if s, err := id.Decapsulate(b.Wrapped(), info); !errors.Is(err, errBlobLabel) {
					t.Errorf("Decapsulate(blob, %q): %x, %v; want errBlobLabel", info, s, err)
				}
				if _, _, err := id.Recipient().Encapsulate(info); !errors.Is(err, errBlobLabel) {
					t.Errorf("Encapsulate(%q): %v; want errBlobLabel", info, err)
				}
				if s, err := id.UnwrapSecret(b.Wrapped(), info); !errors.Is(err, errBlobLabel) {
					t.Errorf("UnwrapSecret(blob, %q): %x, %v; want errBlobLabel", info, s, err)
				}
				if _, err := WrapSecret(id.Recipient(), key.Bytes(), info); !errors.Is(err, errBlobLabel) {
					t.Errorf("WrapSecret(%q): %v; want errBlobLabel", info, err)
				}
			}
			got, err := Import(b, id, &ImportOptions{Verify: id.Recipient()})
			if err != nil || !got.Equal(key) {
				t.Errorf("Import: %v", err)
			}
			for _, info := range [][]byte{nil, []byte("keyblob/v1 key blo"), []byte("keyblob/v2 key blob")} {
				enc, secret, err := id.Recipient().Encapsulate(info)
				if err != nil {
					t.Fatalf("Encapsulate(%q): %v", info, err)
				}
				if s, err := id.Decapsulate(enc, info); err != nil || !bytes.Equal(s, secret) {
					t.Errorf("Decapsulate(%q): %v", info, err)
				}
			}
		})
	}
}
