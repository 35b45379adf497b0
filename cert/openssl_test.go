package cert

import (
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// openssl runs openssl in dir, skipping the test if there is none.
func openssl(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("no openssl")
	}
	cmd := exec.Command("openssl", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestOpenSSLIssues checks that a certificate openssl issues from our
// request with -copy_extensions copyall, under an openssl-made CA, is
// accepted by Verify.
func TestOpenSSLIssues(t *testing.T) {
	for _, alg := range []string{"ed25519", "rsa:2048"} {
		t.Run(alg, func(t *testing.T) {
			dir := t.TempDir()
			if out, err := openssl(t, dir, "req", "-x509", "-newkey", alg, "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
				"-subj", "/CN=OpenSSL CA", "-days", "30",
				"-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			id := testID(t, "hybrid")
			csr, err := Request(id, Names{DNS: []string{"db.example.com"}})
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "req.csr"), EncodePEM(PEMRequest, csr), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := openssl(t, dir, "x509", "-req", "-in", "req.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
				"-copy_extensions", "copyall", "-days", "90", "-out", "leaf.pem"); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			leaf, roots := readChain(t, dir, "leaf.pem"), readChain(t, dir, "ca.pem")
			v, err := Verify(leaf, VerifyOptions{Roots: roots, Name: "db.example.com", Usage: Server})
			if err != nil {
				t.Fatal(err)
			}
			if !v.Recipient.Equal(id.Recipient()) {
				t.Fatal("the certified recipient is not the requester's")
			}
		})
	}
}

func readChain(t *testing.T, dir, name string) []*x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseChain(data)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestOpenSSLVerifies checks that openssl verify accepts the certificates
// NewCA and Issue make (Ed25519 and RSA-PSS), for their purpose, and
// refuses one our CRL revokes.
func TestOpenSSLVerifies(t *testing.T) {
	for _, kind := range []string{"ca", "rsa"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			now := time.Now()
			caDER, err := NewCA(testID(t, kind), "Example CA", time.Hour, now)
			if err != nil {
				t.Fatal(err)
			}
			ca := testCA{testID(t, kind), mustParse(t, caDER)}
			csr, err := Request(testID(t, "x25519"), Names{DNS: []string{"db.example.com"}})
			if err != nil {
				t.Fatal(err)
			}
			req, err := ParseRequest(csr)
			if err != nil {
				t.Fatal(err)
			}
			leafDER, err := Issue(ca.cert, ca.id, req, 30*time.Minute, now)
			if err != nil {
				t.Fatal(err)
			}
			crlDER, err := CreateCRL(ca.cert, ca.id, []Revoked{{Serial: mustParse(t, leafDER).SerialNumber, At: now}}, now, now.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			files := map[string][]byte{"ca.pem": EncodePEM(PEMCertificate, caDER), "leaf.pem": EncodePEM(PEMCertificate, leafDER),
				"crl.pem": EncodePEM(PEMCRL, crlDER), "req.csr": EncodePEM(PEMRequest, csr)}
			for name, data := range files {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if out, err := openssl(t, dir, "verify", "-CAfile", "ca.pem", "-purpose", "sslserver", "leaf.pem"); err != nil || !strings.Contains(out, "leaf.pem: OK") {
				t.Fatalf("openssl verify: %v\n%s", err, out)
			}
			if out, err := openssl(t, dir, "req", "-verify", "-noout", "-in", "req.csr"); err != nil {
				t.Fatalf("openssl req -verify: %v\n%s", err, out)
			}
			out, err := openssl(t, dir, "verify", "-crl_check", "-CRLfile", "crl.pem", "-CAfile", "ca.pem", "leaf.pem")
			if err == nil || !strings.Contains(out, "revoked") {
				t.Fatalf("openssl verify accepted a revoked certificate: %v\n%s", err, out)
			}
		})
	}
}
