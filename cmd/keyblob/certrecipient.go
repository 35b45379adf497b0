package main

// Certificates where a recipient is expected: -r CERT (seal, export),
// --from CERT (open) and --verify CERT (import), checked with --ca and
// --crl; certified contacts, re-checked whenever they are used
// (spec/keystore.md section 5).

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/cert"
	"github.com/keyblob/keyblob/keystore"
)

// recipientCAFlags are --ca and --crl of a command that takes a certificate
// where it takes a recipient, and what was made of them.
type recipientCAFlags struct {
	ca   string
	crls []string
	// args names the flags that take certificates ("-r"), for messages.
	args  string
	trust *trust // loaded by the first certificate
	used  bool   // a certificate was verified
}

// addRecipientCAFlags adds --ca and --crl to c, whose flags args ("-r",
// "--from") take certificates.
func addRecipientCAFlags(c *cobra.Command, f *recipientCAFlags, args string) {
	f.args = args
	c.Flags().StringVar(&f.ca, "ca", "", "verify a certificate given to "+args+" with the CA in `FILE` or the stored CA NAME")
	c.Flags().StringArrayVar(&f.crls, "crl", nil, "refuse a certificate the CRL in `FILE` revokes (repeatable; with --ca)")
	requireWith(c, "crl", "ca")
}

// done refuses a --ca that checked no certificate: it would look as if
// the recipients had been checked.
func (f *recipientCAFlags) done() error {
	if f.ca != "" && !f.used {
		return withHint(usagef("--ca checks a certificate given to %s, and none was given", f.args),
			"give the certificate file (PEM or DER) to %s, or leave --ca and --crl out", f.args)
	}
	return nil
}

// loadRecipientCert is loadRecipient for the commands that take --ca: a
// file holding a certificate chain is verified with f's CA and CRLs, for
// a person (any name), at the CLI's clock, and gives the recipient it
// certifies.
func (e *env) loadRecipientCert(arg string, f *recipientCAFlags) (*keyblob.Recipient, error) {
	if !certificateFile(arg) {
		return e.loadRecipient(arg)
	}
	if _, err := e.resolveName(arg); err != nil {
		return nil, err
	}
	v, err := e.verifyCertArg(arg, f, "")
	if err != nil {
		return nil, err
	}
	return v.Recipient, nil
}

// verifyCertArg verifies the certificate file arg with f's CA and CRLs
// for a person, for name (or any name if "").
func (e *env) verifyCertArg(arg string, f *recipientCAFlags, name string) (*cert.Verified, error) {
	if f.ca == "" {
		return nil, withHint(usagef("%s is a certificate: it needs --ca, the CA it is checked against", arg),
			"add --ca FILE (the CA's certificate) or --ca NAME (a CA of 'keyblob ca add'); a certificate is never trusted by itself")
	}
	if f.trust == nil {
		t, err := e.loadTrust(f.ca, f.crls)
		if err != nil {
			return nil, err
		}
		f.trust = t
	}
	data, err := e.readLimited(arg, "certificate", cert.MaxChainSize)
	if err != nil {
		return nil, err
	}
	v, err := e.verifyChain(f.trust, data, name, cert.Person)
	if err != nil {
		return nil, certError(fmt.Errorf("certificate %s: %w", arg, err))
	}
	f.used = true
	return v, nil
}

// certificateFile reports whether arg names a file (not stdin, not a
// recipient line) that holds a certificate: a PEM "CERTIFICATE" block, or
// DER that parses as certificates. Only the first MaxChainSize bytes are
// read; a larger file is no certificate keyblob reads.
func certificateFile(arg string) bool {
	if isStdio(arg) || meantAsLine(arg) || !isFile(arg) {
		return false
	}
	file, err := os.Open(arg)
	if err != nil {
		return false
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, cert.MaxChainSize))
	if err != nil {
		return false
	}
	if bytes.Contains(data, []byte("-----BEGIN "+cert.PEMCertificate+"-----")) {
		return true
	}
	if len(data) == 0 || data[0] != 0x30 {
		return false
	}
	_, err = cert.ParseChain(data)
	return err == nil
}

// certError adds the hint of a refused certificate: what to do about
// the kind of refusal.
func certError(err error) error {
	switch {
	case errors.Is(err, cert.ErrExpired):
		return withHint(err, "the certificate must be renewed by its CA")
	case errors.Is(err, cert.ErrNotYetValid):
		return withHint(err, "the certificate is not valid yet: check this machine's clock, or wait until it is")
	case errors.Is(err, cert.ErrRevoked):
		return withHint(err, "the CA revoked the certificate: ask its holder for a new one")
	case errors.Is(err, cert.ErrUnknownAuthority):
		return withHint(err, "the certificate is not issued by the CA of --ca: check which CA issued it ('keyblob inspect CERT')")
	case errors.Is(err, cert.ErrUsage):
		return withHint(err, "a recipient or sender needs a person's certificate (extended key usage emailProtection, from 'keyblob cert request --email')")
	}
	return err
}

// contactRecipient returns a stored contact's recipient; a certified
// contact's chain is verified first (checkCertified).
func (e *env) contactRecipient(s *keystore.Store, name string) (*keyblob.Recipient, error) {
	c, err := s.Contact(name)
	if err != nil {
		return nil, err
	}
	if c.Certified() {
		if err := e.checkCertified(s, c); err != nil {
			return nil, err
		}
	}
	return c.Recipient, nil
}

// checkCertified verifies a certified contact's chain now, for a person,
// against the stored CA it was checked with (which must still be stored)
// or else the CA certificate at the end of its chain.
func (e *env) checkCertified(s *keystore.Store, c *keystore.Contact) error {
	roots := c.Chain[len(c.Chain)-1:]
	if c.CA != "" {
		ca, err := s.CA(c.CA)
		if errors.Is(err, keystore.ErrNotFound) {
			return withHint(fmt.Errorf("contact %q was checked with the stored CA %q, which is no longer stored", c.Name, c.CA),
				"store the CA again ('keyblob ca add %s FILE'), or add the contact again from a certificate of another CA ('keyblob contact add --force %s CERT --ca CA')", c.CA, c.Name)
		}
		if err != nil {
			return storeError(err)
		}
		roots = []*x509.Certificate{ca.Cert}
	}
	v, err := cert.Verify(c.Chain, cert.VerifyOptions{Roots: roots, AnyName: true, Usage: cert.Person, Time: e.now()})
	if err == nil && !v.Recipient.Equal(c.Recipient) {
		err = fmt.Errorf("%w: the certificate certifies another recipient than the contact's", cert.ErrExtension)
	}
	if errors.Is(err, cert.ErrExpired) || errors.Is(err, cert.ErrNotYetValid) {
		return withHint(fmt.Errorf("contact %q: %w", c.Name, err),
			"renew the certificate and 'keyblob contact add --force %s CERT --ca CA'", c.Name)
	}
	if err != nil {
		return certError(fmt.Errorf("contact %q: %w", c.Name, err))
	}
	return nil
}

func newContactAddCmd(e *env) *cobra.Command {
	var force bool
	var name string
	certs := recipientCAFlags{}
	c := &cobra.Command{
		Use:   "add NAME (RECIPIENT | CERT --ca CA [--crl FILE]... [--name ADDR]) [--force]",
		Short: "Store a recipient (line, file, PEM public key file, or certificate) under NAME",
		Long: `add stores RECIPIENT (a recipient line, a file holding one, or a PEM
public key file) as the contact NAME, so that -r NAME, --verify NAME and
--from NAME work. An existing contact is replaced only with --force; the
name of a stored identity is never taken, even with --force.

Given a certificate (chain) file CERT, PEM or DER, add verifies it with
--ca CA (a CA certificate file, or the name of a CA of 'keyblob ca add')
and --crl FILE (repeatable), for a person (extended key usage
emailProtection) now, for the e-mail address --name ADDR (without it,
any, but the certificate must certify one), and stores the recipient it
certifies with the verified chain and, for a stored CA, the CA's name.
Each use of the contact verifies the chain again, at that time, against
that stored CA (which must still be stored) or the CA file's certificate
kept in the chain: an expired certificate is refused until it is renewed
and the contact added again with --force.`,
		Args: argsExactly(2),
		RunE: func(c *cobra.Command, args []string) error {
			ct, err := e.contactFromArg(args[0], args[1], name, &certs)
			if err != nil {
				return err
			}
			s, err := e.createStore()
			if err != nil {
				return err
			}
			if err := storeError(s.SaveContact(ct, &keystore.ContactOptions{Replace: force})); err != nil {
				return err
			}
			if ct.Certified() {
				fmt.Fprintf(e.stderr, "keyblob: contact %s: %s, certified by %q until %s\n",
					ct.Name, certifiedName(ct), ct.Chain[len(ct.Chain)-1].Subject.String(), ct.NotAfter().UTC().Format(time.RFC3339))
			}
			return nil
		},
	}
	c.Flags().BoolVar(&force, "force", false, "replace an existing contact")
	c.Flags().StringVar(&name, "name", "", "with a certificate, the e-mail `ADDR` it must certify")
	addRecipientCAFlags(c, &certs, "CERT")
	requireWith(c, "name", "ca")
	return c
}

// contactFromArg makes the contact name of contact add's RECIPIENT or CERT
// argument.
func (e *env) contactFromArg(name, arg, addr string, certs *recipientCAFlags) (*keystore.Contact, error) {
	if !certificateFile(arg) {
		if err := certs.done(); err != nil {
			return nil, err
		}
		r, err := e.loadRecipient(arg)
		return &keystore.Contact{Name: name, Recipient: r}, err
	}
	if _, err := e.resolveName(arg); err != nil {
		return nil, err
	}
	v, err := e.verifyCertArg(arg, certs, addr)
	if err != nil {
		return nil, err
	}
	if len(v.Names.Email) == 0 {
		return nil, withHint(fmt.Errorf("certificate %s: %w: it certifies no e-mail address (%s)", arg, cert.ErrWrongName, strings.Join(v.Names.DNS, ", ")),
			"a contact is a person, certified by an e-mail address ('keyblob cert request --email ADDR')")
	}
	return &keystore.Contact{Name: name, Recipient: v.Recipient, Chain: v.Chain, CA: storedCAName(certs.ca)}, nil
}

// anyCertified reports whether a listing holds a certified contact.
func anyCertified(entries []keystore.ContactEntry) bool {
	for _, en := range entries {
		if en.Err == nil && en.Contact.Certified() {
			return true
		}
	}
	return false
}

// certification is a contact's certified name and NotAfter columns:
// "none" (null in JSON) for a contact without a certificate.
func (l *listing) certification(c *keystore.Contact) []any {
	if !c.Certified() {
		if l.asJSON {
			return []any{nil, nil}
		}
		return []any{"none", "none"}
	}
	return []any{certifiedName(c), c.NotAfter().UTC().Format(time.RFC3339)}
}

// certifiedName is the name a certified contact's leaf certifies: its
// first e-mail address (contact add requires one), else its first name.
func certifiedName(c *keystore.Contact) string {
	leaf := c.Chain[0]
	switch {
	case len(leaf.EmailAddresses) > 0:
		return leaf.EmailAddresses[0]
	case len(leaf.DNSNames) > 0:
		return leaf.DNSNames[0]
	}
	return leaf.Subject.CommonName
}
