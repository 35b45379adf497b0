package cert

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/keyblob/keyblob"
)

// testNow is the time the tests issue and verify at.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// ids holds the identities testID made; tests do not run in parallel.
var ids = map[string]*keyblob.Identity{}

// testID returns an identity of a kind ("x25519", "hybrid", "rsa", or
// any other name for another x25519 identity), made once per test binary.
func testID(t testing.TB, name string) *keyblob.Identity {
	t.Helper()
	if id, ok := ids[name]; ok {
		return id
	}
	var id *keyblob.Identity
	var err error
	switch {
	case strings.HasPrefix(name, "hybrid"):
		id, err = keyblob.GenerateIdentity(keyblob.KindHybrid)
	case name == "rsa":
		var data []byte
		if data, err = os.ReadFile("../testdata/sealed/keys/carol-rsa-2048.key"); err == nil {
			id, err = keyblob.ParseIdentity(data)
		}
	default:
		id, err = keyblob.GenerateIdentity(keyblob.KindX25519)
	}
	if err != nil {
		t.Fatal(err)
	}
	ids[name] = id
	return id
}

// testCA is a CA identity and its certificate.
type testCA struct {
	id   *keyblob.Identity
	cert *x509.Certificate
}

func newTestCA(t testing.TB, idName, caName string) testCA {
	t.Helper()
	id := testID(t, idName)
	der, err := NewCA(id, caName, 365*24*time.Hour, testNow)
	if err != nil {
		t.Fatal(err)
	}
	return testCA{id, mustParse(t, der)}
}

func mustParse(t testing.TB, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// issue issues a certificate for id and names through Request and Issue.
func (ca testCA) issue(t testing.TB, id *keyblob.Identity, names Names, validity time.Duration) *x509.Certificate {
	t.Helper()
	csr, err := Request(id, names)
	if err != nil {
		t.Fatal(err)
	}
	req, err := ParseRequest(csr)
	if err != nil {
		t.Fatal(err)
	}
	der, err := Issue(ca.cert, ca.id, req, validity, testNow)
	if err != nil {
		t.Fatal(err)
	}
	return mustParse(t, der)
}

// forge makes a certificate from a template of the caller's, for the
// key of subject, signed by parent with the key of signer: the shapes
// Issue never makes.
func forge(t testing.TB, tmpl *x509.Certificate, subject *keyblob.Identity, parent *x509.Certificate, signer *keyblob.Identity) *x509.Certificate {
	t.Helper()
	s, err := signer.CertificateSigner()
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.SerialNumber == nil {
		tmpl.SerialNumber = big.NewInt(7)
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore, tmpl.NotAfter = testNow.Add(-time.Hour), testNow.Add(time.Hour)
	}
	if parent == nil {
		parent = tmpl
	}
	tmpl.SignatureAlgorithm = signatureAlgorithm(s.Public())
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, subject.Recipient().SigningPublicKey(), s)
	if err != nil {
		t.Fatal(err)
	}
	return mustParse(t, der)
}

// leafTemplate is what Issue would make for a server of name, with the
// extension of r (nil: none).
func leafTemplate(t testing.TB, name string, r *keyblob.Recipient) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: name},
		DNSNames:              []string{name},
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if r != nil {
		ext, err := MarshalExtension(r)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.ExtraExtensions = []pkix.Extension{ext}
	}
	return tmpl
}
