package keyblob

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"testing"

	"filippo.io/edwards25519"

	"github.com/keyblob/keyblob/internal/suite"
)

// smallOrderKeys are encodings of the points of order 1, 2, 4 and 8, and
// non-canonical encodings of some of them.
var smallOrderKeys = map[string]string{
	"identity":                "0100000000000000000000000000000000000000000000000000000000000000",
	"order 2":                 "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"order 4":                 "0000000000000000000000000000000000000000000000000000000000000000",
	"order 4, negative":       "0000000000000000000000000000000000000000000000000000000000000080",
	"order 8":                 "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
	"order 8, other":          "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
	"non-canonical y = p":     "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"non-canonical y = p + 1": "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"identity, sign bit set":  "0100000000000000000000000000000000000000000000000000000000000080",
}

// TestSmallOrderSigner performs the attack of the hardening review: with a
// signer key of small order, the signature (R = identity, S = 0) verifies
// for any message, so "good signature by" would name a key nobody holds.
// Such keys are refused wherever a signature key is decoded.
func TestSmallOrderSigner(t *testing.T) {
	forgery := make([]byte, ed25519.SignatureSize)
	forgery[0] = 1 // R = the identity point, S = 0
	identityKey, _ := hex.DecodeString(smallOrderKeys["identity"])
	if !ed25519.Verify(identityKey, []byte("any message at all"), forgery) {
		t.Fatal("the premise of the attack: ed25519.Verify accepts the forgery under the identity key")
	}
	for name, h := range smallOrderKeys {
		t.Run(name, func(t *testing.T) {
			raw, _ := hex.DecodeString(h)
			if r, err := ParseSigningKey(SignatureEd25519, raw); !errors.Is(err, ErrMalformedRecipient) {
				t.Errorf("ParseSigningKey = %v, %v; want ErrMalformedRecipient", r, err)
			}
			if _, err := suite.Ed25519.ParsePublic(raw); err == nil {
				t.Errorf("suite.Ed25519.ParsePublic accepted it")
			}
		})
	}
}

// TestMixedOrderSigner: a real key plus a point of order 8 is refused too
// (it is not in the prime-order subgroup, so its fingerprint would name a
// key with two behaviours under cofactored and cofactorless verification).
func TestMixedOrderSigner(t *testing.T) {
	id := testIdentity(t, "alice", KindX25519)
	raw := id.Recipient().SigningKeyBytes()
	if _, err := ParseSigningKey(SignatureEd25519, raw); err != nil {
		t.Fatalf("a genuine key is refused: %v", err)
	}
	a, err := new(edwards25519.Point).SetBytes(raw)
	if err != nil {
		t.Fatal(err)
	}
	t8raw, _ := hex.DecodeString(smallOrderKeys["order 8"])
	t8, err := new(edwards25519.Point).SetBytes(t8raw)
	if err != nil {
		t.Fatal(err)
	}
	mixed := new(edwards25519.Point).Add(a, t8).Bytes()
	if _, err := ParseSigningKey(SignatureEd25519, mixed); !errors.Is(err, ErrMalformedRecipient) {
		t.Errorf("a mixed-order key: %v, want ErrMalformedRecipient", err)
	}
}

// TestGeneratedEd25519KeysPass: keys made from seeds are always accepted.
func TestGeneratedEd25519KeysPass(t *testing.T) {
	for i := 0; i < 64; i++ {
		pk, _, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := suite.Ed25519.ParsePublic(pk); err != nil {
			t.Fatalf("generated key %x refused: %v", pk, err)
		}
	}
}
