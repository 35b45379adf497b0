package cert

import (
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/keyblob/keyblob"
)

// TestCertifyAndParseDERChain: Certify makes a certificate Verify
// accepts from a chain read with ParseDERChain, which refuses an empty,
// too long or damaged chain as ErrMalformed.
func TestCertifyAndParseDERChain(t *testing.T) {
	now := time.Now()
	caID, _ := keyblob.GenerateIdentity(keyblob.KindX25519)
	id, _ := keyblob.GenerateIdentity(keyblob.KindX25519)
	caDER, err := NewCA(caID, "CA", time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leaf, err := Certify(ca, caID, id, Names{DNS: []string{"db.example.com"}}, time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := ParseDERChain([][]byte{leaf, caDER})
	if err != nil {
		t.Fatal(err)
	}
	v, err := Verify(chain, VerifyOptions{Roots: []*x509.Certificate{ca}, Name: "db.example.com", Usage: Server, Time: now})
	if err != nil || !v.Recipient.Equal(id.Recipient()) {
		t.Fatalf("Verify: %v", err)
	}
	for name, bad := range map[string][][]byte{
		"empty":    nil,
		"too long": make([][]byte, MaxChainLength+1),
		"damaged":  {leaf[:len(leaf)-1]},
	} {
		if _, err := ParseDERChain(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s chain: %v, want ErrMalformed", name, err)
		}
	}
}
