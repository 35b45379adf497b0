package keyblob

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/keyblob/keyblob/internal/suite"
)

// A Fingerprint names one public key: SHA-256 over a domain separator, the
// key's role and algorithm, and its canonical encoding (spec/blob.md).
// Exchange and signature keys have separate fingerprints, so a blob names
// the exact key it is wrapped to and the exact key that signed it. The zero
// Fingerprint names no key.
type Fingerprint [32]byte

const (
	roleExchange  = 'x'
	roleSignature = 's'
	fingerprintID = "keyblob/v1 fingerprint\x00"
)

// fingerprint computes the fingerprint of a public key.
func fingerprint(role, alg byte, encoded []byte) Fingerprint {
	h := sha256.New()
	h.Write([]byte(fingerprintID))
	h.Write([]byte{role, alg})
	h.Write(encoded)
	return Fingerprint(h.Sum(nil))
}

func exchangeFingerprint(p suite.ExchangePublic) Fingerprint {
	return fingerprint(roleExchange, p.Suite().ID, p.Bytes())
}

func signingFingerprint(p suite.SigningPublic) Fingerprint {
	return fingerprint(roleSignature, p.Suite().ID, p.Bytes())
}

// String returns "SHA256:" and the unpadded base64 of f, as OpenSSH does.
func (f Fingerprint) String() string {
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(f[:])
}

// IsZero reports whether f names no key.
func (f Fingerprint) IsZero() bool { return f == Fingerprint{} }

// Equal reports whether f and g are the same, in constant time.
func (f Fingerprint) Equal(g Fingerprint) bool {
	return subtle.ConstantTimeCompare(f[:], g[:]) == 1
}

// ParseFingerprint parses the String form of a fingerprint.
func ParseFingerprint(s string) (Fingerprint, error) {
	var f Fingerprint
	b64, ok := strings.CutPrefix(s, "SHA256:")
	raw, err := base64.RawStdEncoding.Strict().DecodeString(b64)
	// The decoder skips CR and LF; only the canonical text is accepted.
	if !ok || err != nil || len(raw) != len(f) || base64.RawStdEncoding.EncodeToString(raw) != b64 {
		return f, fmt.Errorf("%w fingerprint (want SHA256: and 43 base64 characters)", ErrMalformed)
	}
	copy(f[:], raw)
	return f, nil
}
