package cert

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keyblob/keyblob"
)

// A Usage is what a certificate is checked for.
type Usage int

// The usages and the extended key usage each needs (a certificate without
// the extension allows every usage, as RFC 5280 says).
const (
	// Server: a channel server, named by a DNS name (serverAuth).
	Server Usage = iota + 1
	// Client: a channel client, named by a DNS name or an address
	// (clientAuth).
	Client
	// Person: a contact, sender or signer of sealed messages, named by an
	// e-mail address (emailProtection).
	Person
)

// String names the usage as errors say it.
func (u Usage) String() string {
	switch u {
	case Server:
		return "a server"
	case Client:
		return "a client"
	case Person:
		return "a person (e-mail protection)"
	}
	return fmt.Sprintf("usage %d", int(u))
}

// extKeyUsage is the extended key usage u needs.
func (u Usage) extKeyUsage() x509.ExtKeyUsage {
	switch u {
	case Server:
		return x509.ExtKeyUsageServerAuth
	case Client:
		return x509.ExtKeyUsageClientAuth
	}
	return x509.ExtKeyUsageEmailProtection
}

// VerifyOptions say what Verify checks a chain against.
type VerifyOptions struct {
	// Roots are the trusted CA certificates; at least one.
	Roots []*x509.Certificate
	// Name is the name the leaf must be for: a DNS name (Server, Client)
	// or an e-mail address (Client, Person). It is required unless
	// AnyName is set.
	Name string
	// AnyName skips the name check, for a caller that decides on
	// Verified.Names itself (a server authorizing clients by pattern).
	AnyName bool
	// Usage is what the leaf is for; required.
	Usage Usage
	// Time is the time of the check; zero means now.
	Time time.Time
	// CRLs are revocation lists to check the chain with. A CRL is used
	// for each certificate of the chain whose issuer issued it (same name,
	// signature verified by the issuer's key); one whose signature does
	// not verify, or past its NextUpdate, is ErrCRL. CRLs of other
	// issuers are ignored, so one list may serve several CAs.
	CRLs []*x509.RevocationList
}

// Verified is what a verified chain certifies.
type Verified struct {
	// Recipient is the recipient the CA names: the leaf's recipient
	// extension, whose signature key is the leaf's public key.
	Recipient *keyblob.Recipient
	// Names are the leaf's names.
	Names Names
	// NotAfter is when the verification stops holding: the earliest
	// NotAfter of the chain's certificates, root included.
	NotAfter time.Time
	// Leaf is the leaf certificate; Chain the verified chain, leaf to
	// root.
	Leaf  *x509.Certificate
	Chain []*x509.Certificate
}

// Verify checks chain (leaf first, then any intermediates, in any order)
// against opts: crypto/x509's chain building to one of opts.Roots
// (signatures, validity at opts.Time, basic constraints and path length,
// name constraints, the extended key usage of opts.Usage along the
// chain), the leaf's name, key usage digitalSignature if the leaf has a
// key usage, revocation by opts.CRLs of every certificate of every chain
// found, and the leaf's recipient extension (present once, non-critical,
// strict, certifying the leaf's own public key). Errors are of the
// classes of errors.go.
func Verify(chain []*x509.Certificate, opts VerifyOptions) (*Verified, error) {
	if err := checkOptions(chain, &opts); err != nil {
		return nil, err
	}
	leaf := chain[0]
	chains, err := leaf.Verify(x509Options(chain, opts))
	if err != nil {
		return nil, classify(err, chain, opts)
	}
	if err := checkLeaf(leaf, opts); err != nil {
		return nil, err
	}
	for _, c := range chains {
		if err := checkRevocation(c, opts.CRLs, opts.Time); err != nil {
			return nil, err
		}
	}
	r, err := Recipient(leaf)
	if err != nil {
		return nil, err
	}
	return &Verified{
		Recipient: r,
		Names:     Names{DNS: leaf.DNSNames, Email: leaf.EmailAddresses},
		NotAfter:  earliestNotAfter(chains[0]),
		Leaf:      leaf,
		Chain:     chains[0],
	}, nil
}

// checkOptions checks what Verify was given and sets the default time.
func checkOptions(chain []*x509.Certificate, opts *VerifyOptions) error {
	switch {
	case len(chain) == 0:
		return fmt.Errorf("%w certificate chain: no certificate", ErrMalformed)
	case len(chain) > MaxChainLength:
		return fmt.Errorf("%w certificate chain: %d certificates, at most %d", ErrMalformed, len(chain), MaxChainLength)
	case len(opts.Roots) == 0:
		return fmt.Errorf("%w: no trusted CA given", ErrUnknownAuthority)
	case opts.Usage < Server || opts.Usage > Person:
		return errors.New("cert: VerifyOptions.Usage not set")
	case opts.Name == "" && !opts.AnyName:
		return errors.New("cert: VerifyOptions.Name not set (set AnyName to accept every name)")
	case opts.Name != "" && opts.AnyName:
		return errors.New("cert: VerifyOptions has both Name and AnyName")
	case opts.Usage == Person && !opts.AnyName && !strings.Contains(opts.Name, "@"):
		return fmt.Errorf("%w %q: a person is named by an e-mail address", ErrWrongName, opts.Name)
	case opts.Usage == Server && strings.Contains(opts.Name, "@"):
		return fmt.Errorf("%w %q: a server is named by a DNS name", ErrWrongName, opts.Name)
	}
	if opts.Time.IsZero() {
		opts.Time = time.Now()
	}
	return nil
}

// x509Options are the crypto/x509 options of a verification: the name
// is given to it only if it is a DNS name (addresses are checked by
// checkLeaf).
func x509Options(chain []*x509.Certificate, opts VerifyOptions) x509.VerifyOptions {
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	for _, c := range opts.Roots {
		roots.AddCert(c)
	}
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	o := x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   opts.Time,
		KeyUsages:     []x509.ExtKeyUsage{opts.Usage.extKeyUsage()},
	}
	if !opts.AnyName && !strings.Contains(opts.Name, "@") {
		o.DNSName = opts.Name
	}
	return o
}

// checkLeaf checks what crypto/x509 does not: key usage, and an e-mail
// address as the name.
func checkLeaf(leaf *x509.Certificate, opts VerifyOptions) error {
	if leaf.KeyUsage != 0 && leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return fmt.Errorf("%w: %q has a key usage without digitalSignature", ErrUsage, leaf.Subject)
	}
	if opts.AnyName || !strings.Contains(opts.Name, "@") {
		return nil
	}
	for _, e := range leaf.EmailAddresses {
		if sameAddress(e, opts.Name) {
			return nil
		}
	}
	return &NameError{Name: opts.Name, Names: Names{DNS: leaf.DNSNames, Email: leaf.EmailAddresses}.all()}
}

// sameAddress compares e-mail addresses as RFC 5280 section 7.5 does:
// the local part exactly, the domain without regard to case.
func sameAddress(a, b string) bool {
	al, ad, _ := strings.Cut(a, "@")
	bl, bd, _ := strings.Cut(b, "@")
	return al == bl && strings.EqualFold(ad, bd)
}

// earliestNotAfter returns the earliest NotAfter of a chain.
func earliestNotAfter(chain []*x509.Certificate) time.Time {
	t := chain[0].NotAfter
	for _, c := range chain[1:] {
		if c.NotAfter.Before(t) {
			t = c.NotAfter
		}
	}
	return t
}

// classify turns a crypto/x509 verification error into one of ours.
func classify(err error, chain []*x509.Certificate, opts VerifyOptions) error {
	leaf := chain[0]
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	var critical x509.UnhandledCriticalExtension
	switch {
	case errors.As(err, &unknown):
		if d := diagnose(chain, opts); d != nil {
			return d
		}
		return fmt.Errorf("%w: %q is issued by %q, and no chain leads from it to a trusted CA", ErrUnknownAuthority, leaf.Subject, leaf.Issuer)
	case errors.As(err, &host):
		return &NameError{Name: opts.Name, Names: Names{DNS: leaf.DNSNames, Email: leaf.EmailAddresses}.all()}
	case errors.As(err, &critical):
		return fmt.Errorf("%w: a certificate of the chain has a critical extension keyblob does not know", ErrExtension)
	case errors.As(err, &invalid):
		return classifyInvalid(invalid, opts)
	}
	return fmt.Errorf("%w: %w", ErrUnknownAuthority, err)
}

// classifyInvalid classifies a CertificateInvalidError by its reason.
func classifyInvalid(e x509.CertificateInvalidError, opts VerifyOptions) error {
	subject := e.Cert.Subject.String()
	switch e.Reason {
	case x509.Expired:
		return &ValidityError{Subject: subject, NotBefore: e.Cert.NotBefore, NotAfter: e.Cert.NotAfter, Time: opts.Time}
	case x509.NotAuthorizedToSign:
		return fmt.Errorf("%w: %q issued a certificate but may not (not a CA, or no keyCertSign)", ErrNotCA, subject)
	case x509.TooManyIntermediates:
		return fmt.Errorf("%w: the chain is longer than the path length %q allows", ErrNotCA, subject)
	case x509.IncompatibleUsage:
		return fmt.Errorf("%w: %q is not for %s (extended key usage)", ErrUsage, subject, opts.Usage)
	case x509.CANotAuthorizedForExtKeyUsage:
		return fmt.Errorf("%w: the CA %q may not certify %s", ErrUsage, subject, opts.Usage)
	case x509.CANotAuthorizedForThisName, x509.NameMismatch, x509.NameConstraintsWithoutSANs,
		x509.UnconstrainedName, x509.TooManyConstraints:
		return fmt.Errorf("%w: %v", ErrWrongName, e)
	}
	return fmt.Errorf("%w: %v", ErrUnknownAuthority, e)
}

// diagnose finds why crypto/x509 found no chain when the reason is an
// issuer it turned down (it reports those as an unknown authority): a
// certificate of the chain or a root whose key signed a certificate of
// the chain, but that may not issue (not a CA) or is not valid now.
func diagnose(chain []*x509.Certificate, opts VerifyOptions) error {
	issuers := append(append([]*x509.Certificate(nil), chain[1:]...), opts.Roots...)
	for _, c := range chain {
		for _, p := range issuers {
			if p == c || !bytes.Equal(p.RawSubject, c.RawIssuer) ||
				p.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) != nil {
				continue
			}
			if !p.BasicConstraintsValid || !p.IsCA {
				return fmt.Errorf("%w: %q issued %q but is not a CA", ErrNotCA, p.Subject, c.Subject)
			}
			if opts.Time.Before(p.NotBefore) || opts.Time.After(p.NotAfter) {
				return &ValidityError{Subject: p.Subject.String(), NotBefore: p.NotBefore, NotAfter: p.NotAfter, Time: opts.Time}
			}
		}
	}
	return nil
}
