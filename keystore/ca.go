package keystore

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/atomicfile"
)

// Trusted CAs live in a name space of their own (only --ca looks names up
// there), one certificate a file (spec/keystore.md section 5.3).
const (
	casDir = "cas"
	caExt  = ".pem"
)

// MaxCASize bounds a CA certificate's DER, as authorities' CAs are bounded.
const MaxCASize = 16 << 10

// A CA is a named trusted certificate authority: a CA certificate whose
// chains the user trusts for names (spec/cert.md). Like contacts, CAs are
// neither encrypted nor signed: they are as trustworthy as the disk.
type CA struct {
	Name string
	Cert *x509.Certificate
}

// CAOptions say how AddCA stores a CA. The zero value, or nil, creates a
// new one.
type CAOptions struct {
	// Replace replaces an existing CA of the name; without it, the name
	// must be free (ErrExists).
	Replace bool
}

// ErrNotCA is returned by AddCA for a certificate that is not a CA's
// (basic constraints CA), and by CA for a file that holds one.
var ErrNotCA = errors.New("not a CA certificate (basic constraints CA:TRUE)")

// AddCA stores a CA certificate under name, as cas/NAME.pem, mode 0644,
// written atomically under the lock.
func (s *Store) AddCA(name string, c *x509.Certificate, opts *CAOptions) error {
	path, err := s.path(casDir, name, caExt)
	if err != nil {
		return err
	}
	if err := checkTrustedCA(c); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(s.dir, casDir), 0o700); err != nil {
		return err
	}
	return s.writeEntry(write{
		entry:   entry{path: path, what: "CA", name: name, mode: 0o644},
		data:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}),
		replace: opts != nil && opts.Replace,
	})
}

// checkTrustedCA refuses certificates the CA files may not hold.
func checkTrustedCA(c *x509.Certificate) error {
	switch {
	case len(c.Raw) > MaxCASize:
		return fmt.Errorf("CA certificate of %d bytes, over %d", len(c.Raw), MaxCASize)
	case !c.BasicConstraintsValid || !c.IsCA:
		return fmt.Errorf("%q: %w", c.Subject, ErrNotCA)
	}
	return nil
}

// CA returns a stored CA. Its file must be exactly one "CERTIFICATE" PEM
// block as AddCA writes it (no headers, nothing around it, 64-column
// lines), of a CA certificate that parses with nothing after it.
func (s *Store) CA(name string) (*CA, error) {
	path, err := s.path(casDir, name, caExt)
	if err != nil {
		return nil, err
	}
	data, err := readEntryMax(path, "CA", name, 2*MaxCASize)
	if err != nil {
		return nil, err
	}
	c, err := decodeCA(data)
	if err != nil {
		return nil, fmt.Errorf("CA %q: %w", name, err)
	}
	return &CA{Name: name, Cert: c}, nil
}

// decodeCA decodes a CA file strictly.
func decodeCA(data []byte) (*x509.Certificate, error) {
	block, rest := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" || len(block.Headers) > 0 || len(rest) > 0 ||
		!bytes.Equal(pem.EncodeToMemory(block), data) {
		return nil, fmt.Errorf("%w CA file: not exactly one CERTIFICATE PEM block in canonical form", keyblob.ErrMalformed)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w CA file: %v", keyblob.ErrMalformed, err)
	}
	if err := checkTrustedCA(c); err != nil {
		return nil, err
	}
	return c, nil
}

// CAs lists the stored CAs, by name.
func (s *Store) CAs() ([]*CA, error) {
	names, err := s.list(casDir, caExt)
	if err != nil {
		return nil, err
	}
	var out []*CA
	for _, name := range names {
		c, err := s.CA(name)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// RemoveCA deletes a stored CA, even one whose file is damaged.
func (s *Store) RemoveCA(name string) error {
	held, err := s.exists(casDir, name, caExt)
	switch {
	case err != nil:
		return err
	case !held:
		return fmt.Errorf("%w: CA %q", ErrNotFound, name)
	}
	path, _ := s.path(casDir, name, caExt)
	return s.withLock(func() error { return atomicfile.Remove(path) })
}
