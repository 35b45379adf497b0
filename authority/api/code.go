package api

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"strings"

	"github.com/keyblob/keyblob"
)

// RecoveryCode is an owner's recovery code (spec/escrow-api.md section
// 5): 32 random bytes, drawn by the client, shown to the user once, sent
// only sealed to the authority. It is a secret: never log it.
type RecoveryCode [32]byte

// NewRecoveryCode draws a code from crypto/rand.
func NewRecoveryCode() RecoveryCode {
	var c RecoveryCode
	rand.Read(c[:])
	return c
}

var codeEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// String returns the text form: 52 base32 characters in 13 groups of 4
// joined by "-".
func (c RecoveryCode) String() string {
	s := codeEncoding.EncodeToString(c[:])
	groups := make([]string, 0, 13)
	for i := 0; i < len(s); i += 4 {
		groups = append(groups, s[i:i+4])
	}
	return strings.Join(groups, "-")
}

// ErrMalformedCode is returned by ParseRecoveryCode.
var ErrMalformedCode = fmt.Errorf("%w recovery code (want 52 letters and digits 2 to 7, in groups of 4)", keyblob.ErrMalformed)

// errCodeLastChar is ErrMalformedCode for 52 letters and digits whose
// last is not one a code ends in: 52 characters carry 260 bits, a code's
// 32 bytes 256, and the 4 bits left are zero, so that only A and Q end a
// code. That is most likely a typo, not another code. It names no
// character of the code, which is a secret.
var errCodeLastChar error = &codeError{keyblob.ErrMalformed.Error() + " recovery code: its last character cannot end a code (only A or Q do): probably a typo in the last group"}

// codeError is an ErrMalformedCode with a more precise message.
type codeError struct{ msg string }

func (e *codeError) Error() string { return e.msg }
func (e *codeError) Unwrap() error { return ErrMalformedCode }

// ParseRecoveryCode reads the text form, ignoring "-", spaces and case,
// and accepts only a canonical encoding of 32 bytes. Every error is
// ErrMalformedCode (errors.Is); for a code whose last character is not
// canonical, it says so.
func ParseRecoveryCode(s string) (RecoveryCode, error) {
	var c RecoveryCode
	if len(s) > 256 {
		return c, ErrMalformedCode
	}
	s = strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(s))
	raw, err := codeEncoding.DecodeString(s)
	if err != nil || len(raw) != len(c) {
		return c, ErrMalformedCode
	}
	if canonical := codeEncoding.EncodeToString(raw); canonical != s {
		// The decoder also skips CR and LF: only a code that differs in
		// its last character is told of it.
		last := len(canonical) - 1
		if len(s) == len(canonical) && s[:last] == canonical[:last] {
			return c, errCodeLastChar
		}
		return c, ErrMalformedCode
	}
	copy(c[:], raw)
	return c, nil
}

// CodePurpose says which request a sealed code travels in.
type CodePurpose uint8

// The purposes of a sealed code (spec/escrow-api.md section 5).
const (
	PurposeEnroll   CodePurpose = 1
	PurposeRecovery CodePurpose = 2
	PurposeNewCode  CodePurpose = 3
)

// codeLabel is the wrap label of a sealed code.
func codeLabel(p CodePurpose, owner, signer keyblob.Fingerprint, nonce [16]byte) []byte {
	b := make([]byte, 0, 24+1+32+32+16)
	b = append(b, "keyblob/v1 escrow code\x00"...)
	b = append(b, byte(p))
	b = append(b, owner[:]...)
	b = append(b, signer[:]...)
	return append(b, nonce[:]...)
}

// SealCode wraps c to the authority's exchange key for one request: its
// purpose, the owner it names, its signer and its nonce.
func SealCode(authority *keyblob.Recipient, c RecoveryCode, p CodePurpose, owner, signer keyblob.Fingerprint, nonce [16]byte) ([]byte, error) {
	return keyblob.WrapSecret(authority, c[:], codeLabel(p, owner, signer, nonce))
}

// OpenCode reverses SealCode with the authority's identity; every
// failure is ErrBadSealedCode.
func OpenCode(id *keyblob.Identity, sealed []byte, p CodePurpose, owner, signer keyblob.Fingerprint, nonce [16]byte) (RecoveryCode, error) {
	var c RecoveryCode
	raw, err := id.UnwrapSecret(sealed, codeLabel(p, owner, signer, nonce))
	if err != nil {
		return c, ErrBadSealedCode
	}
	copy(c[:], raw)
	clear(raw)
	return c, nil
}
