package cert

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// Bounds on what the parsers read, checked before anything is parsed.
const (
	// MaxCertificateSize bounds one certificate or request, in DER.
	MaxCertificateSize = 16 << 10
	// MaxChainLength bounds the certificates of a chain.
	MaxChainLength = 8
	// MaxChainSize bounds a chain file, PEM or DER.
	MaxChainSize = 2 * MaxChainLength * MaxCertificateSize
	// MaxCRLSize bounds a CRL file, PEM or DER.
	MaxCRLSize = 1 << 20
)

// PEM block types.
const (
	PEMCertificate = "CERTIFICATE"
	PEMRequest     = "CERTIFICATE REQUEST"
	PEMCRL         = "X509 CRL"
)

// ParseChain reads a certificate chain, leaf first: PEM "CERTIFICATE"
// blocks (blank lines and '#' comment lines between them, nothing else),
// or DER certificates one after the other. It refuses a file over
// MaxChainSize, more than MaxChainLength certificates, a certificate over
// MaxCertificateSize, and a certificate crypto/x509 does not parse (with
// trailing bytes among them); all are ErrMalformed. It checks no
// signature: that is Verify's work.
func ParseChain(data []byte) ([]*x509.Certificate, error) {
	if len(data) > MaxChainSize {
		return nil, fmt.Errorf("%w certificate chain: over %d bytes", ErrMalformed, MaxChainSize)
	}
	ders, err := decode(data, PEMCertificate, MaxChainLength)
	if err != nil {
		return nil, err
	}
	if len(ders) == 0 {
		return nil, fmt.Errorf("%w certificate chain: no certificate", ErrMalformed)
	}
	certs := make([]*x509.Certificate, len(ders))
	for i, der := range ders {
		if certs[i], err = parseCertificate(der); err != nil {
			return nil, fmt.Errorf("certificate %d: %w", i+1, err)
		}
	}
	return certs, nil
}

// ParseDERChain parses a chain given as DER certificates, leaf first, as
// a protocol carries them (spec/channel.md sections 3.9 and 4.8), with the
// bounds of ParseChain: 1 to MaxChainLength certificates, each at most
// MaxCertificateSize; all errors are ErrMalformed.
func ParseDERChain(chain [][]byte) ([]*x509.Certificate, error) {
	if len(chain) == 0 || len(chain) > MaxChainLength {
		return nil, fmt.Errorf("%w certificate chain: %d certificates, want 1 to %d", ErrMalformed, len(chain), MaxChainLength)
	}
	certs := make([]*x509.Certificate, len(chain))
	for i, der := range chain {
		var err error
		if certs[i], err = parseCertificate(der); err != nil {
			return nil, fmt.Errorf("certificate %d: %w", i+1, err)
		}
	}
	return certs, nil
}

// parseCertificate parses one DER certificate, bounded.
func parseCertificate(der []byte) (*x509.Certificate, error) {
	if len(der) > MaxCertificateSize {
		return nil, fmt.Errorf("%w certificate: %d bytes, over %d", ErrMalformed, len(der), MaxCertificateSize)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w certificate: %w", ErrMalformed, err)
	}
	return c, nil
}

// ParseRequest reads one PKCS #10 certificate request, PEM
// ("CERTIFICATE REQUEST") or DER, at most MaxCertificateSize bytes of
// DER. It checks the request's signature; the recipient extension is
// Issue's (and RequestRecipient's) to check.
func ParseRequest(data []byte) (*x509.CertificateRequest, error) {
	ders, err := decode(data, PEMRequest, 1)
	switch {
	case err != nil:
		return nil, err
	case len(ders) != 1:
		return nil, fmt.Errorf("%w certificate request: not one request", ErrMalformed)
	case len(ders[0]) > MaxCertificateSize:
		return nil, fmt.Errorf("%w certificate request: over %d bytes", ErrMalformed, MaxCertificateSize)
	}
	req, err := x509.ParseCertificateRequest(ders[0])
	if err != nil {
		return nil, fmt.Errorf("%w certificate request: %w", ErrMalformed, err)
	}
	if err := req.CheckSignature(); err != nil {
		return nil, fmt.Errorf("%w certificate request: bad signature: %w", ErrMalformed, err)
	}
	return req, nil
}

// ParseCRL reads one CRL, PEM ("X509 CRL") or DER, at most MaxCRLSize
// bytes. Its signature, issuer and dates are checked by Verify against
// the chain it is used for.
func ParseCRL(data []byte) (*x509.RevocationList, error) {
	if len(data) > MaxCRLSize {
		return nil, fmt.Errorf("%w CRL: over %d bytes", ErrMalformed, MaxCRLSize)
	}
	ders, err := decode(data, PEMCRL, 1)
	switch {
	case err != nil:
		return nil, err
	case len(ders) != 1:
		return nil, fmt.Errorf("%w CRL: not one CRL", ErrMalformed)
	}
	crl, err := x509.ParseRevocationList(ders[0])
	if err != nil {
		return nil, fmt.Errorf("%w CRL: %w", ErrMalformed, err)
	}
	return crl, nil
}

// decode returns the DER elements of data: its PEM blocks of type label
// if it holds PEM, else the DER elements one after the other; at most
// limit of them.
func decode(data []byte, label string, limit int) ([][]byte, error) {
	if bytes.Contains(data, []byte("-----BEGIN ")) {
		return pemBlocks(data, label, limit)
	}
	var ders [][]byte
	for s := cryptobyte.String(data); !s.Empty(); {
		var el cryptobyte.String
		if len(ders) == limit {
			return nil, fmt.Errorf("%w: more than %d %s", ErrMalformed, limit, pemName(label))
		}
		if !s.ReadAnyASN1Element(&el, nil) {
			return nil, fmt.Errorf("%w %s: not DER (nor PEM)", ErrMalformed, pemName(label))
		}
		ders = append(ders, el)
	}
	return ders, nil
}

// pemBlocks returns the DER of data's PEM blocks, all of type label, at
// most limit of them, with only blank lines and '#' comment lines around
// them and no PEM headers.
func pemBlocks(data []byte, label string, limit int) ([][]byte, error) {
	var ders [][]byte
	for rest := data; ; {
		var line []byte
		for len(rest) > 0 && !bytes.HasPrefix(rest, []byte("-----BEGIN ")) {
			line, rest, _ = bytes.Cut(rest, []byte("\n"))
			if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
				return nil, fmt.Errorf("%w %s: text outside PEM blocks: %.40q", ErrMalformed, pemName(label), t)
			}
		}
		if len(rest) == 0 {
			return ders, nil
		}
		block, after := pem.Decode(rest)
		// pem.Decode skips a malformed block; only one that starts here
		// may be used, or the skipped text would pass unchecked.
		consumed := rest[:len(rest)-len(after)]
		switch {
		case block == nil || bytes.Count(consumed, []byte("-----BEGIN ")) != 1:
			return nil, fmt.Errorf("%w %s: bad PEM block", ErrMalformed, pemName(label))
		case block.Type != label:
			return nil, fmt.Errorf("%w: PEM block %q where %q was expected", ErrMalformed, block.Type, label)
		case len(block.Headers) > 0:
			return nil, fmt.Errorf("%w %s: PEM block with headers", ErrMalformed, pemName(label))
		case len(ders) == limit:
			return nil, fmt.Errorf("%w: more than %d %s", ErrMalformed, limit, pemName(label))
		}
		ders, rest = append(ders, block.Bytes), after
	}
}

// pemName names what a PEM type holds, for errors.
func pemName(label string) string {
	switch label {
	case PEMCertificate:
		return "certificates"
	case PEMRequest:
		return "certificate request"
	}
	return "CRL"
}

// EncodePEM returns der as one PEM block of type label (PEMCertificate,
// PEMRequest or PEMCRL), as openssl writes it.
func EncodePEM(label string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: label, Bytes: der})
}

// EncodeChain returns the chain as PEM "CERTIFICATE" blocks, in order:
// the form ParseChain reads and a --cert file holds.
func EncodeChain(chain []*x509.Certificate) []byte {
	var buf bytes.Buffer
	for _, c := range chain {
		buf.Write(EncodePEM(PEMCertificate, c.Raw))
	}
	return buf.Bytes()
}
