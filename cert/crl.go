package cert

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/keyblob/keyblob"
)

// checkRevocation checks every certificate of a verified chain (leaf to
// root) against the CRLs its issuer, the next certificate, issued. The
// root is trusted as given: nothing above it can revoke it.
func checkRevocation(chain []*x509.Certificate, crls []*x509.RevocationList, now time.Time) error {
	for i := 0; i+1 < len(chain); i++ {
		c, issuer := chain[i], chain[i+1]
		for _, crl := range crls {
			if !bytes.Equal(crl.RawIssuer, issuer.RawSubject) {
				continue
			}
			if err := checkCRL(crl, issuer, now); err != nil {
				return err
			}
			if err := revoked(c, crl); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkCRL checks that crl is signed by issuer and current at now.
func checkCRL(crl *x509.RevocationList, issuer *x509.Certificate, now time.Time) error {
	name := issuer.Subject.String()
	switch {
	case crl.CheckSignatureFrom(issuer) != nil:
		return fmt.Errorf("%w: the CRL of %q does not verify with its key", ErrCRL, name)
	case now.Before(crl.ThisUpdate):
		return fmt.Errorf("%w: the CRL of %q is dated %s, in the future (it is %s)", ErrCRL, name, stamp(crl.ThisUpdate), stamp(now))
	case !crl.NextUpdate.IsZero() && now.After(crl.NextUpdate):
		return fmt.Errorf("%w: the CRL of %q expired at %s (it is %s): fetch a fresh one", ErrCRL, name, stamp(crl.NextUpdate), stamp(now))
	}
	return nil
}

// revoked returns a *RevokedError if crl lists c's serial.
func revoked(c *x509.Certificate, crl *x509.RevocationList) error {
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber != nil && e.SerialNumber.Cmp(c.SerialNumber) == 0 {
			return &RevokedError{Subject: c.Subject.String(), Serial: c.SerialNumber, Issuer: crl.Issuer.String(), RevokedAt: e.RevocationTime}
		}
	}
	return nil
}

// A Revoked is one certificate a CRL revokes.
type Revoked struct {
	Serial *big.Int
	At     time.Time // when it was revoked
}

// CreateCRL returns a CRL (DER) of the CA certificate ca and its identity
// caID revoking the certificates listed: this update now, next update
// next (after now), CRL number now in nanoseconds since 1970, so that a
// later CRL has a greater number. ca must have key usage cRLSign and a
// subject key identifier (NewCA's certificates have both).
func CreateCRL(ca *x509.Certificate, caID *keyblob.Identity, revoked []Revoked, now, next time.Time) ([]byte, error) {
	if !next.After(now) {
		return nil, errors.New("a CRL's next update must be after now")
	}
	if err := checkIssuer(ca, caID, now); err != nil {
		return nil, err
	}
	signer, err := caID.CertificateSigner()
	if err != nil {
		return nil, err
	}
	entries := make([]x509.RevocationListEntry, len(revoked))
	for i, r := range revoked {
		entries[i] = x509.RevocationListEntry{SerialNumber: r.Serial, RevocationTime: r.At}
	}
	tmpl := &x509.RevocationList{
		Number:                    big.NewInt(now.UnixNano()),
		ThisUpdate:                now,
		NextUpdate:                next,
		RevokedCertificateEntries: entries,
		SignatureAlgorithm:        signatureAlgorithm(signer.Public()),
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, ca, signer)
	if err != nil {
		return nil, fmt.Errorf("making the CRL: %w", err)
	}
	return der, nil
}
