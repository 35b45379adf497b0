package inspect

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/cert"
)

// certFixtures are certificates and requests: keyblob's CA and a chain it
// issued, a request, and what keyblob does not make: an ordinary X.509
// certificate and request without the recipient extension, a certificate
// whose extension certifies another key, and a certificate that does not
// parse.
func certFixtures(t testing.TB) []fixture {
	now := time.Now()
	caID, err := keyblob.GenerateIdentity(keyblob.KindX25519)
	check(t, err)
	db, err := keyblob.GenerateIdentity(keyblob.KindHybrid)
	check(t, err)
	caDER, err := cert.NewCA(caID, "Example CA", time.Hour, now)
	check(t, err)
	ca, err := x509.ParseCertificate(caDER)
	check(t, err)
	reqDER, err := cert.Request(db, cert.Names{DNS: []string{"db.example.com"}})
	check(t, err)
	req, err := cert.ParseRequest(reqDER)
	check(t, err)
	leaf, err := cert.Issue(ca, caID, req, time.Minute, now)
	check(t, err)
	reqPEM := cert.EncodePEM(cert.PEMRequest, reqDER)
	chain := append(cert.EncodePEM(cert.PEMCertificate, leaf), cert.EncodePEM(cert.PEMCertificate, caDER)...)
	return []fixture{
		{"ca.pem", cert.EncodePEM(cert.PEMCertificate, caDER), "certificate", PEM, "certificate", ""},
		{"db.pem", chain, "certificate", PEM, "certificate", ""},
		{"db.csr", reqPEM, "certificate request", PEM, "certificate_request", ""},
		{"plain.pem", cert.EncodePEM(cert.PEMCertificate, plainCertificate(t, nil)), "certificate", PEM, "certificate", ""},
		{"mismatch.pem", cert.EncodePEM(cert.PEMCertificate, plainCertificate(t, db)), "certificate", PEM, "certificate", ""},
		{"plain.csr", cert.EncodePEM(cert.PEMRequest, plainRequest(t)), "certificate request", PEM, "certificate_request", ""},
		// The vectors of spec/cert.md: a chain, and certificates keyblob refuses.
		{"server-hybrid.pem", readFile(t, "../../testdata/cert/server-hybrid.pem"), "certificate", PEM, "certificate", ""},
		{"no-extension.pem", readFile(t, "../../testdata/cert/no-extension.pem"), "certificate", PEM, "certificate", ""},
		{"key-mismatch.pem", readFile(t, "../../testdata/cert/key-mismatch.pem"), "certificate", PEM, "certificate", ""},
		{"request cut", reqPEM[:len(reqPEM)/2], "certificate request", PEM, "", "malformed"},
		{"chain after text", append([]byte("Certificate:\n"), chain...), "certificate", Embedded, "", "malformed"},
	}
}

// plainCertificate is a self-signed Ed25519 certificate of a key that is
// no keyblob identity's, carrying the recipient extension of other if
// it is not nil (an extension that certifies another key).
func plainCertificate(t testing.TB, other *keyblob.Identity) []byte {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	check(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7),
		Subject:      pkix.Name{CommonName: "plain\nsubject: forged"},
		DNSNames:     []string{"plain.example.com"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	if other != nil {
		ext, err := cert.MarshalExtension(other.Recipient())
		check(t, err)
		tmpl.ExtraExtensions = []pkix.Extension{ext}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	check(t, err)
	return der
}

// plainRequest is an Ed25519 certificate request without the recipient
// extension.
func plainRequest(t testing.TB) []byte {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	check(t, err)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:        pkix.Name{CommonName: "alice"},
		EmailAddresses: []string{"alice@example.com"},
	}, priv)
	check(t, err)
	return der
}
