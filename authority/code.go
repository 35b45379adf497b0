package authority

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"

	"golang.org/x/crypto/cryptobyte"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority/api"
	"github.com/keyblob/keyblob/password"
)

// A recovery code's verifier (spec/escrow-api.md section 5.2).

const (
	verifierLabel = "keyblob/v1 escrow code verifier\x00"
	tagSize       = 32
)

// newVerifier returns params || Argon2id(P, params, 32) with a fresh salt.
func newVerifier(params password.Params, owner keyblob.Fingerprint, c *api.RecoveryCode) ([]byte, error) {
	rand.Read(params.Salt[:])
	tag, err := codeTag(params, owner, c)
	if err != nil {
		return nil, err
	}
	var b cryptobyte.Builder
	params.Append(&b)
	b.AddBytes(tag)
	return b.Bytes()
}

func codeTag(params password.Params, owner keyblob.Fingerprint, c *api.RecoveryCode) ([]byte, error) {
	p := make([]byte, 0, len(verifierLabel)+64)
	p = append(append(append(p, verifierLabel...), owner[:]...), c[:]...)
	defer clear(p)
	return params.Key(p, tagSize)
}

var errVerifier = errors.New("stored verifier is malformed")

// checkCode reports whether c is correct for the owner's verifier,
// comparing tags in constant time. The stored parameters are checked
// against the limits (password.Read) before Argon2id runs.
func checkCode(verifier []byte, owner keyblob.Fingerprint, c *api.RecoveryCode) (bool, error) {
	s := cryptobyte.String(verifier)
	params, err := password.Read(&s)
	if err != nil || len(s) != tagSize {
		return false, errVerifier
	}
	tag, err := codeTag(params, owner, c)
	if err != nil {
		return false, err
	}
	defer clear(tag)
	return subtle.ConstantTimeCompare(tag, s) == 1, nil
}
