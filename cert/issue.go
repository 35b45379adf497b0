package cert

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/keyblob/keyblob"
)

// Names are the names a certificate is for: DNS names for machines
// (servers, and clients that are machines), e-mail addresses for people.
type Names struct {
	DNS   []string
	Email []string
}

// all returns the names, DNS names first.
func (n Names) all() []string { return append(append([]string(nil), n.DNS...), n.Email...) }

// MaxNames bounds the names of one request.
const MaxNames = 64

// check refuses an empty set and names that are not plain DNS names or
// addresses.
func (n Names) check() error {
	switch all := n.all(); {
	case len(all) == 0:
		return errors.New("a certificate needs at least one DNS name or e-mail address")
	case len(all) > MaxNames:
		return fmt.Errorf("%d names, at most %d", len(all), MaxNames)
	}
	for _, d := range n.DNS {
		if !validDNSName(d) {
			return fmt.Errorf("%q is not a DNS name (letters, digits, '-', labels separated by '.', a '*.' first at most)", d)
		}
	}
	for _, e := range n.Email {
		local, domain, ok := strings.Cut(e, "@")
		if !ok || local == "" || strings.ContainsAny(local, " \t\"()<>,;:\\[]@") || !validDNSName(domain) || strings.HasPrefix(domain, "*") {
			return fmt.Errorf("%q is not a plain e-mail address (local@domain)", e)
		}
	}
	return nil
}

// validDNSName accepts a DNS name of LDH labels, a wildcard first label
// allowed, at most 253 bytes.
func validDNSName(d string) bool {
	if len(d) == 0 || len(d) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimPrefix(d, "*."), ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// extKeyUsages is what a certificate of these names is for: DNS names
// serve and connect as clients, addresses protect e-mail (sealed
// messages) and connect as clients.
func (n Names) extKeyUsages() []x509.ExtKeyUsage {
	var u []x509.ExtKeyUsage
	if len(n.DNS) > 0 {
		u = append(u, x509.ExtKeyUsageServerAuth)
	}
	u = append(u, x509.ExtKeyUsageClientAuth)
	if len(n.Email) > 0 {
		u = append(u, x509.ExtKeyUsageEmailProtection)
	}
	return u
}

// OIDs of the extensions a request asks for by hand (x509's request
// template has no field for them).
var (
	oidKeyUsage    = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidExtKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 37}
	ekuOIDs        = map[x509.ExtKeyUsage]asn1.ObjectIdentifier{
		x509.ExtKeyUsageServerAuth:      {1, 3, 6, 1, 5, 5, 7, 3, 1},
		x509.ExtKeyUsageClientAuth:      {1, 3, 6, 1, 5, 5, 7, 3, 2},
		x509.ExtKeyUsageEmailProtection: {1, 3, 6, 1, 5, 5, 7, 3, 4},
	}
)

// requestedUsages returns the key usage (digitalSignature, critical) and
// extended key usage extensions a request asks for.
func requestedUsages(n Names) ([]pkix.Extension, error) {
	ku, err := asn1.Marshal(asn1.BitString{Bytes: []byte{0x80}, BitLength: 1})
	if err != nil {
		return nil, err
	}
	var oids []asn1.ObjectIdentifier
	for _, u := range n.extKeyUsages() {
		oids = append(oids, ekuOIDs[u])
	}
	eku, err := asn1.Marshal(oids)
	if err != nil {
		return nil, err
	}
	return []pkix.Extension{{Id: oidKeyUsage, Critical: true, Value: ku}, {Id: oidExtKeyUsage, Value: eku}}, nil
}

// Request returns a PKCS #10 certificate request (DER) for id's names,
// signed by id's signature key: subject CN the first name, the names as
// subjectAltName, and the recipient extension, key usage
// digitalSignature and the extended key usages of the names (DNS names:
// serverAuth, clientAuth; addresses: clientAuth, emailProtection) asked
// for, so that a CA that copies requested extensions issues a certificate
// Verify accepts. id must have a signature key.
func Request(id *keyblob.Identity, names Names) ([]byte, error) {
	if err := names.check(); err != nil {
		return nil, err
	}
	signer, ext, err := signerAndExtension(id)
	if err != nil {
		return nil, err
	}
	usages, err := requestedUsages(names)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.CertificateRequest{
		Subject:            pkix.Name{CommonName: names.all()[0]},
		DNSNames:           names.DNS,
		EmailAddresses:     names.Email,
		ExtraExtensions:    append([]pkix.Extension{ext}, usages...),
		SignatureAlgorithm: signatureAlgorithm(signer.Public()),
	}
	return x509.CreateCertificateRequest(rand.Reader, tmpl, signer)
}

// signerAndExtension returns id's certificate signer and its recipient
// extension.
func signerAndExtension(id *keyblob.Identity) (crypto.Signer, pkix.Extension, error) {
	signer, err := id.CertificateSigner()
	if err != nil {
		return nil, pkix.Extension{}, err
	}
	ext, err := MarshalExtension(id.Recipient())
	return signer, ext, err
}

// signatureAlgorithm is what keyblob signs X.509 with: PureEd25519, or
// RSA-PSS-SHA256 for an RSA key (Identity.CertificateSigner).
func signatureAlgorithm(pub crypto.PublicKey) x509.SignatureAlgorithm {
	if _, ok := pub.(*rsa.PublicKey); ok {
		return x509.SHA256WithRSAPSS
	}
	return x509.PureEd25519
}

// NewCA returns a self-signed CA certificate (DER) for id: subject CN
// name, valid from now minus one minute for validity, basic constraints
// CA with path length 0 (it issues leaves, not CAs), key usage
// keyCertSign, cRLSign and digitalSignature, and the recipient extension,
// so that the CA is a keyblob identity too. id must have a signature key.
func NewCA(id *keyblob.Identity, name string, validity time.Duration, now time.Time) ([]byte, error) {
	if name == "" || len(name) > 64 {
		return nil, errors.New("a CA's name is 1 to 64 bytes")
	}
	if validity <= 0 {
		return nil, errors.New("a CA's validity must be positive")
	}
	signer, ext, err := signerAndExtension(id)
	if err != nil {
		return nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(validity),
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		ExtraExtensions:       []pkix.Extension{ext},
		SignatureAlgorithm:    signatureAlgorithm(signer.Public()),
	}
	return x509.CreateCertificate(rand.Reader, tmpl, tmpl, signer.Public(), signer)
}

// backdate is how far before now a certificate's validity starts, for
// clocks a little behind the issuer's.
const backdate = time.Minute

// randomSerial returns a random positive 128-bit serial number.
func randomSerial() (*big.Int, error) {
	b := make([]byte, 16)
	for {
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		if s := new(big.Int).SetBytes(b); s.Sign() > 0 {
			return s, nil
		}
	}
}

// Issue returns a certificate (DER) for the request req, signed by the
// CA certificate ca and its identity caID: the request's names (DNS names
// and addresses only), its recipient extension (checked: present once,
// non-critical, strict, for the request's key), subject CN the first
// name, key usage digitalSignature, extended key usages by the names'
// kinds (as Request asks), not a CA, a random 128-bit serial, valid from
// now minus one minute to now plus validity, which must end before the
// CA does. Nothing else of the request is copied.
func Issue(ca *x509.Certificate, caID *keyblob.Identity, req *x509.CertificateRequest, validity time.Duration, now time.Time) ([]byte, error) {
	names, err := requestNames(req)
	if err != nil {
		return nil, err
	}
	if err := checkIssuer(ca, caID, now.Add(validity)); err != nil {
		return nil, err
	}
	if validity <= 0 {
		return nil, errors.New("a certificate's validity must be positive")
	}
	r, err := RequestRecipient(req)
	if err != nil {
		return nil, err
	}
	signer, _ := caID.CertificateSigner() // checkIssuer saw it can sign
	ext, err := MarshalExtension(r)
	if err != nil {
		return nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: names.all()[0]},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(validity),
		DNSNames:              names.DNS,
		EmailAddresses:        names.Email,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           names.extKeyUsages(),
		ExtraExtensions:       []pkix.Extension{ext},
		SignatureAlgorithm:    signatureAlgorithm(signer.Public()),
	}
	return x509.CreateCertificate(rand.Reader, tmpl, ca, req.PublicKey, signer)
}

// requestNames returns a request's names, checked; a request with names
// of other kinds (IP addresses, URIs) is refused.
func requestNames(req *x509.CertificateRequest) (Names, error) {
	if err := req.CheckSignature(); err != nil {
		return Names{}, fmt.Errorf("%w certificate request: bad signature: %w", ErrMalformed, err)
	}
	if len(req.IPAddresses) > 0 || len(req.URIs) > 0 {
		return Names{}, errors.New("the request names IP addresses or URIs; keyblob certifies DNS names and e-mail addresses only")
	}
	names := Names{DNS: req.DNSNames, Email: req.EmailAddresses}
	if err := names.check(); err != nil {
		return Names{}, fmt.Errorf("certificate request: %w", err)
	}
	return names, nil
}

// checkIssuer checks that ca is a CA certificate of caID's signature key
// that is still valid at until.
func checkIssuer(ca *x509.Certificate, caID *keyblob.Identity, until time.Time) error {
	switch {
	case !caID.CanSign():
		return keyblob.ErrCannotSign
	case !ca.BasicConstraintsValid || !ca.IsCA:
		return fmt.Errorf("%w: %q is not a CA certificate", ErrNotCA, ca.Subject)
	case ca.KeyUsage != 0 && ca.KeyUsage&x509.KeyUsageCertSign == 0:
		return fmt.Errorf("%w: %q may not sign certificates (key usage)", ErrNotCA, ca.Subject)
	case !sameKey(caID.Recipient().SigningPublicKey(), ca.PublicKey):
		return fmt.Errorf("the CA certificate %q is not for this identity's signature key", ca.Subject)
	case until.After(ca.NotAfter):
		return fmt.Errorf("the CA certificate %q expires at %s, before the certificate would", ca.Subject, stamp(ca.NotAfter))
	}
	return nil
}

// Recipient returns the recipient a certificate's recipient extension
// certifies, checked against the certificate's public key (present once,
// non-critical, strict, same signature key; ErrExtension otherwise). It
// checks nothing else: Verify does, and the result is only as trustworthy
// as the verification.
func Recipient(c *x509.Certificate) (*keyblob.Recipient, error) {
	return recipientOf(c.Extensions, c.PublicKey)
}

// RequestRecipient is Recipient for a certificate request's requested
// extensions.
func RequestRecipient(req *x509.CertificateRequest) (*keyblob.Recipient, error) {
	return recipientOf(req.Extensions, req.PublicKey)
}

// Certify is Request and Issue in one step, for a CA that holds the
// identity it certifies (a test, a bench, a CA certifying its own
// server): a certificate (DER) of id for names.
func Certify(ca *x509.Certificate, caID, id *keyblob.Identity, names Names, validity time.Duration, now time.Time) ([]byte, error) {
	der, err := Request(id, names)
	if err != nil {
		return nil, err
	}
	req, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, err
	}
	return Issue(ca, caID, req, validity, now)
}
