package api

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/keyblob/keyblob"
)

// Console sign-in links (spec/escrow-api.md section 12): a token signed
// by an operator as a signed request (section 4) of GET ConsoleLoginPath
// whose body is the link's validity, so that no API request is a token
// and no token is an API request.
const (
	// ConsoleLoginPath is the path of a sign-in link; the token is its
	// query parameter t.
	ConsoleLoginPath = "/console/login"
	// MaxConsoleValidity bounds how long a sign-in link is valid.
	MaxConsoleValidity = time.Hour
	// consoleFixed is the token's size before its signature.
	consoleFixed = 32 + 8 + 16 + 4
	// MaxConsoleToken bounds the text of a token, before it is decoded.
	MaxConsoleToken = (consoleFixed+keyblob.MaxSignerKey)*4/3 + 4
)

// ConsoleToken is a parsed sign-in link token: the operator's signature
// key, when it was issued, its random id and how long it is valid.
type ConsoleToken struct {
	Auth     Auth
	Validity time.Duration
}

// Expires returns the end of the token's validity.
func (t *ConsoleToken) Expires() time.Time {
	return time.Unix(t.Auth.Time, 0).Add(t.Validity)
}

// body is what the token's signature covers as the request's body: the
// validity in seconds, u32.
func (t *ConsoleToken) body() []byte {
	return binary.BigEndian.AppendUint32(nil, uint32(t.Validity/time.Second))
}

// NewConsoleToken signs a sign-in link token for the authority with the
// operator identity id, issued at now and valid for validity (whole
// seconds, 1s to MaxConsoleValidity), and returns its text.
func NewConsoleToken(id *keyblob.Identity, authority keyblob.Fingerprint, now time.Time, validity time.Duration) (string, error) {
	if validity < time.Second || validity > MaxConsoleValidity || validity%time.Second != 0 {
		return "", fmt.Errorf("a sign-in link is valid for whole seconds, 1s to %s, not %s", MaxConsoleValidity, validity)
	}
	t := ConsoleToken{Auth: *NewAuth(id, now), Validity: validity}
	if err := t.Auth.Sign(id, authority, "GET", ConsoleLoginPath, t.body()); err != nil {
		return "", err
	}
	b := append(make([]byte, 0, consoleFixed+len(t.Auth.Signature)), t.Auth.Signer[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(t.Auth.Time))
	b = append(b, t.Auth.Nonce[:]...)
	b = append(b, t.body()...)
	return base64.RawURLEncoding.EncodeToString(append(b, t.Auth.Signature...)), nil
}

// errConsoleToken is every malformed token.
var errConsoleToken = fmt.Errorf("%w sign-in link", keyblob.ErrMalformed)

// ParseConsoleToken parses a token's text, refusing (keyblob.ErrMalformed)
// anything but the canonical encoding of a token within the bounds; it
// does not check the signature (VerifyConsoleToken does).
func ParseConsoleToken(s string) (*ConsoleToken, error) {
	if len(s) > MaxConsoleToken {
		return nil, errConsoleToken
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) <= consoleFixed || len(b) > consoleFixed+keyblob.MaxSignerKey {
		return nil, errConsoleToken
	}
	t := &ConsoleToken{}
	copy(t.Auth.Signer[:], b)
	issued := binary.BigEndian.Uint64(b[32:])
	copy(t.Auth.Nonce[:], b[40:])
	secs := binary.BigEndian.Uint32(b[56:])
	if issued > 1<<62 || secs == 0 || time.Duration(secs)*time.Second > MaxConsoleValidity {
		return nil, errConsoleToken
	}
	t.Auth.Time, t.Validity = int64(issued), time.Duration(secs)*time.Second
	t.Auth.Signature = b[consoleFixed:]
	return t, nil
}

// VerifyConsoleToken checks t's signature with key, the operator's
// recipient, for the authority; every failure is ErrUnauthenticated.
func VerifyConsoleToken(authority keyblob.Fingerprint, t *ConsoleToken, key *keyblob.Recipient) error {
	r := &Request{Method: "GET", Target: ConsoleLoginPath, Body: t.body(), Auth: &t.Auth}
	return VerifyRequest(authority, r, key)
}

// CheckConsoleTime reports ErrRequestExpired unless now is within t's
// validity (allowing MaxSkew before its issue time, for clocks).
func CheckConsoleTime(t *ConsoleToken, now time.Time) error {
	issued := time.Unix(t.Auth.Time, 0)
	if now.Before(issued.Add(-MaxSkew)) || !now.Before(t.Expires()) {
		return ErrRequestExpired
	}
	return nil
}
