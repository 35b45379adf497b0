package cert

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// The classes of refusal. Every error Verify returns is one of them
// (errors.Is), with text that says which certificate and why.
var (
	// ErrExpired: a certificate of the chain is past its NotAfter.
	ErrExpired = errors.New("certificate expired")
	// ErrNotYetValid: a certificate of the chain is before its NotBefore.
	ErrNotYetValid = errors.New("certificate not yet valid")
	// ErrWrongName: the leaf is not for the name asked for, or a CA's
	// name constraints exclude it.
	ErrWrongName = errors.New("certificate is not for this name")
	// ErrUnknownAuthority: no chain leads to a trusted root.
	ErrUnknownAuthority = errors.New("certificate signed by an unknown authority")
	// ErrNotCA: a certificate that may not issue certificates (a leaf, or
	// a CA past its path length) issued one of the chain.
	ErrNotCA = errors.New("certificate issued by a certificate that is not a CA for it")
	// ErrUsage: the key usage or extended key usage does not allow the
	// use asked for.
	ErrUsage = errors.New("certificate not valid for this use")
	// ErrRevoked: a CRL of its issuer revokes a certificate of the chain.
	ErrRevoked = errors.New("certificate revoked")
	// ErrCRL: a CRL given to check revocation cannot be used (bad
	// signature, expired, malformed).
	ErrCRL = errors.New("unusable CRL")
	// ErrExtension: the recipient extension is missing, repeated,
	// critical, malformed, or certifies another key (ErrKeyMismatch).
	ErrExtension = errors.New("bad keyblob recipient extension")
	// ErrMalformed: a certificate, request or CRL does not parse, or
	// breaks a size bound.
	ErrMalformed = errors.New("malformed")
)

// A ValidityError is an ErrExpired or ErrNotYetValid, with the dates.
type ValidityError struct {
	Subject             string // the certificate's subject, as text
	NotBefore, NotAfter time.Time
	Time                time.Time // the time of the check
}

// Error says which certificate, its dates and the time of the check.
func (e *ValidityError) Error() string {
	if e.Time.Before(e.NotBefore) {
		return fmt.Sprintf("%v: %q is valid from %s, it is %s", ErrNotYetValid, e.Subject, stamp(e.NotBefore), stamp(e.Time))
	}
	return fmt.Sprintf("%v: %q expired at %s, it is %s", ErrExpired, e.Subject, stamp(e.NotAfter), stamp(e.Time))
}

// Unwrap returns ErrNotYetValid or ErrExpired.
func (e *ValidityError) Unwrap() error {
	if e.Time.Before(e.NotBefore) {
		return ErrNotYetValid
	}
	return ErrExpired
}

// A NameError is an ErrWrongName: the name asked for and those certified.
type NameError struct {
	Name  string   // the name asked for
	Names []string // the leaf's names
}

// Error names the name asked for and the certified ones.
func (e *NameError) Error() string {
	if len(e.Names) == 0 {
		return fmt.Sprintf("%v %q: it certifies no name", ErrWrongName, e.Name)
	}
	return fmt.Sprintf("%v %q: it is for %s", ErrWrongName, e.Name, strings.Join(e.Names, ", "))
}

// Unwrap returns ErrWrongName.
func (e *NameError) Unwrap() error { return ErrWrongName }

// A RevokedError is an ErrRevoked, with the revocation's date.
type RevokedError struct {
	Subject   string
	Serial    *big.Int
	Issuer    string
	RevokedAt time.Time
}

// Error names the certificate, its serial, its issuer and the date.
func (e *RevokedError) Error() string {
	return fmt.Sprintf("%v: %q (serial %x) was revoked by %q at %s", ErrRevoked, e.Subject, e.Serial, e.Issuer, stamp(e.RevokedAt))
}

// Unwrap returns ErrRevoked.
func (e *RevokedError) Unwrap() error { return ErrRevoked }

// stamp formats a time for an error: UTC, to the second.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
