package keystore

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/cert"
)

// A certified contact's file holds, after its recipient line, the chain it
// was verified with and the stored CA it was checked against
// (spec/keystore.md section 5):
//
//	RECIPIENT LF
//	2*8( "cert " BASE64 LF )   leaf first, to the trusted CA
//	[ "ca " NAME LF ]
const (
	certPrefix   = "cert "
	caLinePrefix = "ca "
	// minContactChain: a leaf and the CA it was verified to at least.
	minContactChain = 2
)

// maxContactSize bounds a contact file: the recipient line and a chain of
// cert.MaxChainLength lines of cert.MaxCertificateSize bytes of DER.
const maxContactSize = 64<<10 + cert.MaxChainLength*(int64(len(certPrefix))+4*cert.MaxCertificateSize/3+8) + 128

// ErrNotCertified is returned by CheckContact for a chain that cannot be
// a certified contact's.
var ErrNotCertified = errors.New("not a certified contact's chain")

// Certified reports whether c was added by a certificate.
func (c *Contact) Certified() bool { return len(c.Chain) > 0 }

// NotAfter is when a certified contact's chain stops being valid: the
// earliest NotAfter of its certificates. It is the zero time for a contact
// without a certificate.
func (c *Contact) NotAfter() time.Time {
	var t time.Time
	for i, x := range c.Chain {
		if i == 0 || x.NotAfter.Before(t) {
			t = x.NotAfter
		}
	}
	return t
}

// CheckContact checks what a contact's file may hold: no chain and no CA
// name, or a chain of 2 to cert.MaxChainLength certificates (each at most
// cert.MaxCertificateSize bytes of DER) whose leaf's recipient extension
// certifies exactly the contact's recipient and whose last certificate is
// a CA, and, optionally, the entry name of the stored CA it was checked
// against. It verifies no signature: the CLI does, when the contact is
// used.
func CheckContact(c *Contact) error {
	switch n := len(c.Chain); {
	case n == 0 && c.CA != "":
		return fmt.Errorf("%w: a CA name without a certificate chain", ErrNotCertified)
	case n == 0:
		return nil
	case n < minContactChain || n > cert.MaxChainLength:
		return fmt.Errorf("%w: %d certificates, from %d to %d", ErrNotCertified, n, minContactChain, cert.MaxChainLength)
	}
	if c.CA != "" {
		if err := CheckName(c.CA); err != nil {
			return fmt.Errorf("%w: CA name: %w", ErrNotCertified, err)
		}
	}
	for i, x := range c.Chain {
		if len(x.Raw) > cert.MaxCertificateSize {
			return fmt.Errorf("%w: certificate %d of %d bytes, over %d", ErrNotCertified, i+1, len(x.Raw), cert.MaxCertificateSize)
		}
	}
	if last := c.Chain[len(c.Chain)-1]; !last.BasicConstraintsValid || !last.IsCA {
		return fmt.Errorf("%w: the last certificate, %q, is not a CA", ErrNotCertified, last.Subject)
	}
	r, err := cert.Recipient(c.Chain[0])
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotCertified, err)
	}
	if !r.Equal(c.Recipient) {
		return fmt.Errorf("%w: the certificate certifies another recipient", ErrNotCertified)
	}
	return nil
}

// encodeContact writes a contact's file.
func encodeContact(c *Contact) []byte {
	var b bytes.Buffer
	b.WriteString(c.Recipient.String() + "\n")
	for _, x := range c.Chain {
		b.WriteString(certPrefix + base64.StdEncoding.EncodeToString(x.Raw) + "\n")
	}
	if c.CA != "" {
		b.WriteString(caLinePrefix + c.CA + "\n")
	}
	return b.Bytes()
}

// decodeContact reads a contact's file strictly: every line ended by one
// line feed, in the order encodeContact writes them, canonical base64,
// certificates that parse with nothing after them, and what CheckContact
// checks. (Each part is canonical, so the file is: it re-encodes to
// itself.)
func decodeContact(data []byte, name string) (*Contact, error) {
	if int64(len(data)) > maxContactSize {
		return nil, fmt.Errorf("%w contact file: over %d bytes", keyblob.ErrMalformed, maxContactSize)
	}
	text := string(data)
	if !strings.HasSuffix(text, "\n") {
		return nil, fmt.Errorf("%w contact file: not ended by a line feed", keyblob.ErrMalformed)
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	r, err := keyblob.ParseRecipientLine(lines[0])
	if err != nil {
		return nil, err
	}
	c := &Contact{Name: name, Recipient: r}
	if err := decodeCertLines(c, lines[1:]); err != nil {
		return nil, err
	}
	if err := CheckContact(c); err != nil {
		return nil, fmt.Errorf("%w contact file: %w", keyblob.ErrMalformed, err)
	}
	return c, nil
}

// decodeCertLines reads the cert lines, then the optional ca line.
func decodeCertLines(c *Contact, lines []string) error {
	for i, line := range lines {
		if b64, ok := strings.CutPrefix(line, certPrefix); ok && c.CA == "" {
			if len(c.Chain) == cert.MaxChainLength {
				return fmt.Errorf("%w contact file: more than %d certificates", keyblob.ErrMalformed, cert.MaxChainLength)
			}
			x, err := decodeCertLine(b64)
			if err != nil {
				return err
			}
			c.Chain = append(c.Chain, x)
			continue
		}
		name, ok := strings.CutPrefix(line, caLinePrefix)
		if !ok || c.CA != "" || name == "" || i != len(lines)-1 {
			return fmt.Errorf("%w contact file: line %d is not a cert line or a last ca line", keyblob.ErrMalformed, i+2)
		}
		c.CA = name
	}
	return nil
}

// decodeCertLine decodes one certificate, bounded before decoding.
func decodeCertLine(b64 string) (*x509.Certificate, error) {
	if len(b64) > base64.StdEncoding.EncodedLen(cert.MaxCertificateSize) {
		return nil, fmt.Errorf("%w contact file: a certificate over %d bytes", keyblob.ErrMalformed, cert.MaxCertificateSize)
	}
	der, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil || base64.StdEncoding.EncodeToString(der) != b64 {
		return nil, fmt.Errorf("%w contact file: a cert line is not canonical base64", keyblob.ErrMalformed)
	}
	x, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w contact file: %v", keyblob.ErrMalformed, err)
	}
	return x, nil
}
