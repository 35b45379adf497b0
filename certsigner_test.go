package keyblob

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"os"
	"testing"
	"time"
)

// certSignerIdentities returns an Ed25519-signing identity and an RSA one.
func certSignerIdentities(t *testing.T) map[string]*Identity {
	t.Helper()
	ids := map[string]*Identity{}
	x, err := GenerateIdentity(KindX25519)
	if err != nil {
		t.Fatal(err)
	}
	ids["ed25519"] = x
	data, err := os.ReadFile("testdata/sealed/keys/carol-rsa-2048.key")
	if err != nil {
		t.Fatal(err)
	}
	if ids["rsa"], err = ParseIdentity(data); err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestCertificateSignerMakesCertificates(t *testing.T) {
	for name, id := range certSignerIdentities(t) {
		t.Run(name, func(t *testing.T) {
			signer, err := id.CertificateSigner()
			if err != nil {
				t.Fatal(err)
			}
			tmpl := &x509.Certificate{
				SerialNumber: big.NewInt(1),
				Subject:      pkix.Name{CommonName: "test"},
				NotBefore:    time.Now().Add(-time.Minute),
				NotAfter:     time.Now().Add(time.Hour),
			}
			if name == "rsa" {
				tmpl.SignatureAlgorithm = x509.SHA256WithRSAPSS
			}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, signer.Public(), signer)
			if err != nil {
				t.Fatal(err)
			}
			c, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err != nil {
				t.Fatal(err)
			}
			pub := id.Recipient().SigningPublicKey().(interface{ Equal(crypto.PublicKey) bool })
			if !pub.Equal(c.PublicKey) {
				t.Fatal("SigningPublicKey differs from the certificate's key")
			}
		})
	}
}

// TestCertificateSignerRefusesKeyblobMessages checks the domain separation
// CertificateSigner's doc promises: no keyblob signed message, no digest,
// and no RSA scheme but PSS-SHA256.
func TestCertificateSignerRefusesKeyblobMessages(t *testing.T) {
	msg := signedMessage("test context", []byte{0x30, 0x00})
	for name, id := range certSignerIdentities(t) {
		signer, err := id.CertificateSigner()
		if err != nil {
			t.Fatal(err)
		}
		ms := signer.(crypto.MessageSigner)
		digest := make([]byte, 32)
		pss := &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: rsa.PSSSaltLengthEqualsHash}
		cases := []struct {
			what string
			sign func() ([]byte, error)
		}{
			{"keyblob message", func() ([]byte, error) { return ms.SignMessage(rand.Reader, msg, pss) }},
			{"keyblob message, no hash", func() ([]byte, error) { return ms.SignMessage(rand.Reader, msg, crypto.Hash(0)) }},
			{"sequence with trailing byte", func() ([]byte, error) { return ms.SignMessage(rand.Reader, []byte{0x30, 0, 0}, pss) }},
			{"digest", func() ([]byte, error) { return signer.Sign(rand.Reader, digest, crypto.SHA256) }},
			{"PSS digest", func() ([]byte, error) { return signer.Sign(rand.Reader, digest, pss) }},
			{"PKCS1v15", func() ([]byte, error) { return ms.SignMessage(rand.Reader, []byte{0x30, 0}, crypto.SHA256) }},
		}
		for _, c := range cases {
			if sig, err := c.sign(); err == nil {
				t.Errorf("%s: %s signed (%d bytes)", name, c.what, len(sig))
			}
		}
	}
}

func TestCertificateSignerWithoutSignatureKey(t *testing.T) {
	id, err := GenerateIdentity(KindX25519)
	if err != nil {
		t.Fatal(err)
	}
	exOnly, err := newIdentity(id.exchange, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exOnly.CertificateSigner(); err != ErrCannotSign {
		t.Fatalf("got %v, want ErrCannotSign", err)
	}
	if exOnly.Recipient().SigningPublicKey() != nil {
		t.Fatal("SigningPublicKey of a recipient without a signature key is not nil")
	}
}
