package main

// The trust the certificate flags name: --ca (a CA file, or the name of a
// CA in the key store) and --crl (a CRL file). Every command that takes
// a certificate verifies it here, with cert.Verify, at the CLI's clock.

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/keyblob/keyblob/cert"
	"github.com/keyblob/keyblob/keystore"
)

// trust is what --ca and --crl named.
type trust struct {
	roots []*x509.Certificate
	crls  []*x509.RevocationList
}

// loadTrust reads --ca CA (a file of CA certificates, PEM or DER, or a
// stored CA's name) and the --crl files.
func (e *env) loadTrust(ca string, crls []string) (*trust, error) {
	if ca == "" {
		return nil, usagef("a certificate needs --ca FILE or --ca NAME (a CA of 'keyblob ca add'), the CA it is checked against")
	}
	roots, err := e.loadRoots(ca)
	if err != nil {
		return nil, err
	}
	t := &trust{roots: roots}
	for _, name := range crls {
		data, err := e.readLimited(name, "CRL", cert.MaxCRLSize)
		if err != nil {
			return nil, err
		}
		crl, err := cert.ParseCRL(data)
		if err != nil {
			return nil, fmt.Errorf("--crl %s: %w", name, err)
		}
		t.crls = append(t.crls, crl)
	}
	return t, nil
}

// loadRoots reads a CA file, or else a stored CA of that name.
func (e *env) loadRoots(ca string) ([]*x509.Certificate, error) {
	if storedCAName(ca) == "" {
		data, err := e.readLimited(ca, "CA certificate", cert.MaxChainSize)
		if err != nil {
			return nil, err
		}
		roots, err := cert.ParseChain(data)
		if err != nil {
			return nil, fmt.Errorf("--ca %s: %w", ca, err)
		}
		return roots, nil
	}
	s, err := e.openStore()
	if err != nil {
		return nil, withHint(fmt.Errorf("--ca %s: no such file, and no key store to look the name up in: %w", ca, err), "'keyblob ca add NAME FILE' stores a CA")
	}
	c, err := s.CA(ca)
	if errors.Is(err, keystore.ErrNotFound) {
		return nil, withHint(fmt.Errorf("--ca %s: no such file or stored CA", ca), "'keyblob ca list' lists the stored CAs")
	}
	if err != nil {
		return nil, err
	}
	return []*x509.Certificate{c.Cert}, nil
}

// verifyChain checks a chain (PEM or DER data) for name and usage, now;
// any name if name is "".
func (e *env) verifyChain(t *trust, data []byte, name string, usage cert.Usage) (*cert.Verified, error) {
	chain, err := cert.ParseChain(data)
	if err != nil {
		return nil, err
	}
	return e.verifyParsed(t, chain, name, usage)
}

// verifyDER is verifyChain of a chain a handshake carried, as DER.
func (e *env) verifyDER(t *trust, der [][]byte, name string, usage cert.Usage) (*cert.Verified, error) {
	chain, err := cert.ParseDERChain(der)
	if err != nil {
		return nil, err
	}
	return e.verifyParsed(t, chain, name, usage)
}

func (e *env) verifyParsed(t *trust, chain []*x509.Certificate, name string, usage cert.Usage) (*cert.Verified, error) {
	return cert.Verify(chain, cert.VerifyOptions{
		Roots: t.roots, CRLs: t.crls, Name: name, AnyName: name == "", Usage: usage, Time: e.now(),
	})
}

// storedCAName returns the name of the stored CA that --ca CA names, or
// "" when CA names a file: the one rule loadRoots and contact add share.
func storedCAName(ca string) string {
	if _, err := os.Stat(ca); err == nil {
		return ""
	}
	return ca
}
