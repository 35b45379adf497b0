package suite

import (
	"crypto/x509"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// ParsePKCS8 reads one PKCS #8 private key into the roles it can play: an
// exchange key pair, a signature key pair, or both (an RSA key), by asking
// each table entry in turn. A key no entry takes is an error.
func ParsePKCS8(der []byte) (ExchangePrivate, SigningPrivate, error) {
	if !oneDERElement(der) {
		// crypto/x509 ignores bytes after the PrivateKeyInfo; one key would
		// then have many encodings (spec/blob.md section 7.1).
		return nil, nil, errors.New("private key: not exactly one DER PrivateKeyInfo (trailing data?)")
	}
	// key is nil where crypto/x509 does not know the algorithm (X-Wing);
	// entries for such algorithms read der themselves.
	key, stdErr := x509.ParsePKCS8PrivateKey(der)
	ex, sig, err := privateRoles(der, key)
	switch {
	case err != nil:
		return nil, nil, err
	case ex == nil && sig == nil && stdErr != nil:
		return nil, nil, fmt.Errorf("private key: %w", stdErr)
	case ex == nil && sig == nil:
		return nil, nil, fmt.Errorf("unsupported private key type %T (want X25519, Ed25519, RSA or MLKEM768-X25519)", key)
	}
	return ex, sig, nil
}

func privateRoles(der []byte, key any) (ExchangePrivate, SigningPrivate, error) {
	ex, err := first(exchanges, func(e *Exchange) (ExchangePrivate, error) { return e.FromPKCS8(der, key) })
	if err != nil {
		return nil, nil, err
	}
	sig, err := first(signatures, func(s *Signature) (SigningPrivate, error) { return s.FromPKCS8(der, key) })
	return ex, sig, err
}

// ParsePKIX is ParsePKCS8 for SubjectPublicKeyInfo public keys.
func ParsePKIX(der []byte) (ExchangePublic, SigningPublic, error) {
	key, stdErr := x509.ParsePKIXPublicKey(der)
	ex, sig, err := publicRoles(der, key)
	switch {
	case err != nil:
		return nil, nil, err
	case ex == nil && sig == nil && stdErr != nil:
		return nil, nil, fmt.Errorf("public key: %w", stdErr)
	case ex == nil && sig == nil:
		return nil, nil, fmt.Errorf("unsupported public key type %T (want X25519, Ed25519, RSA or MLKEM768-X25519)", key)
	}
	return ex, sig, nil
}

func publicRoles(der []byte, key any) (ExchangePublic, SigningPublic, error) {
	ex, err := first(exchanges, func(e *Exchange) (ExchangePublic, error) { return e.FromPKIX(der, key) })
	if err != nil {
		return nil, nil, err
	}
	sig, err := first(signatures, func(s *Signature) (SigningPublic, error) { return s.FromPKIX(der, key) })
	return ex, sig, err
}

// first returns the key of the first table entry that takes it, or the
// first error; nil and no error if no entry does.
func first[E any, K comparable](table []E, from func(E) (K, error)) (K, error) {
	var none K
	for _, e := range table {
		if k, err := from(e); k != none || err != nil {
			return k, err
		}
	}
	return none, nil
}

// oneDERElement reports whether der is exactly one DER SEQUENCE, with no
// byte after it.
func oneDERElement(der []byte) bool {
	s := cryptobyte.String(der)
	var seq cryptobyte.String
	return s.ReadASN1Element(&seq, cbasn1.SEQUENCE) && s.Empty()
}
