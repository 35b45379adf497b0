package cert_test

import (
	"crypto/x509"
	"fmt"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/cert"
)

// A built-in CA certifies a server, and a client verifies the server's
// certificate for its name; the recipient it gets is the server's.
func Example() {
	now := time.Now()
	caID, _ := keyblob.GenerateIdentity(keyblob.KindX25519)
	caDER, err := cert.NewCA(caID, "Example CA", 365*24*time.Hour, now)
	if err != nil {
		panic(err)
	}
	ca, _ := x509.ParseCertificate(caDER)

	server, _ := keyblob.GenerateIdentity(keyblob.KindHybrid)
	csr, err := cert.Request(server, cert.Names{DNS: []string{"db.example.com"}})
	if err != nil {
		panic(err)
	}
	req, err := cert.ParseRequest(csr)
	if err != nil {
		panic(err)
	}
	leafDER, err := cert.Issue(ca, caID, req, 24*time.Hour, now)
	if err != nil {
		panic(err)
	}

	chain, err := cert.ParseChain(cert.EncodePEM(cert.PEMCertificate, leafDER))
	if err != nil {
		panic(err)
	}
	v, err := cert.Verify(chain, cert.VerifyOptions{Roots: []*x509.Certificate{ca}, Name: "db.example.com", Usage: cert.Server})
	if err != nil {
		panic(err)
	}
	fmt.Println(v.Names.DNS, v.Recipient.Kind(), v.Recipient.Equal(server.Recipient()))

	_, err = cert.Verify(chain, cert.VerifyOptions{Roots: []*x509.Certificate{ca}, Name: "www.example.com", Usage: cert.Server})
	fmt.Println(err)
	// Output:
	// [db.example.com] hybrid true
	// certificate is not for this name "www.example.com": it is for db.example.com
}
