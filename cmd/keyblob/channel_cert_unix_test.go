//go:build unix

package main

import (
	"bytes"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/cert"
)

// certFixture is a built-in CA and identities certified by it, in files.
type certFixture struct {
	dir    string
	caID   *keyblob.Identity
	ca     *x509.Certificate
	caFile string
}

func newCertFixture(t *testing.T) *certFixture {
	t.Helper()
	f := &certFixture{dir: t.TempDir()}
	f.caID = newIdentityFile(t, f.dir, "ca.key")
	der, err := cert.NewCA(f.caID, "Test CA", 24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if f.ca, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	f.caFile = f.write(t, "ca.pem", cert.EncodePEM(cert.PEMCertificate, der))
	return f
}

func (f *certFixture) write(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(f.dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// certify makes an identity file NAME.key and its chain NAME.pem for names.
func (f *certFixture) certify(t *testing.T, name string, names cert.Names) (*keyblob.Identity, string) {
	t.Helper()
	id := newIdentityFile(t, f.dir, name+".key")
	leaf, err := cert.Certify(f.ca, f.caID, id, names, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pem := append(cert.EncodePEM(cert.PEMCertificate, leaf), cert.EncodePEM(cert.PEMCertificate, f.ca.Raw)...)
	return id, f.write(t, name+".pem", pem)
}

// connectWith runs channel connect in-process with msg as its input.
func connectWith(t *testing.T, msg string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"channel", "connect"}, args...), strings.NewReader(msg), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestChannelCertificates runs `channel serve --cert` and `connect
// --server-ca --server-name`, and client certificates with
// --authorized-ca and --authorized-name: the certified sessions work,
// the certified name reaches --exec, and each refusal exits 1 (the
// client) or 2 (a --cert that does not certify -i).
func TestChannelCertificates(t *testing.T) {
	f := newCertFixture(t)
	bob, bobChain := f.certify(t, "bob", cert.Names{DNS: []string{"db.example.com"}})
	_, aliceChain := f.certify(t, "alice", cert.Names{Email: []string{"alice@example.com"}})
	_, malloryChain := f.certify(t, "mallory", cert.Names{Email: []string{"mallory@evil.example"}})
	srv := startChannelServer(t, bob, "--cert", bobChain)
	if code, out, errs := connectWith(t, "hello\n", srv.addr, "--server-ca", f.caFile, "--server-name", "db.example.com"); code != 0 || out != "hello\n" {
		t.Fatalf("certified server: exit %d, %q\n%s", code, out, errs)
	}
	if code, _, errs := connectWith(t, "x", srv.addr, "--server-ca", f.caFile, "--server-name", "www.example.com"); code != 1 || !strings.Contains(errs, "certificate") {
		t.Errorf("wrong name: exit %d\n%s", code, errs)
	}
	other := newCertFixture(t)
	if code, _, errs := connectWith(t, "x", srv.addr, "--server-ca", other.caFile, "--server-name", "db.example.com"); code != 1 || !strings.Contains(errs, "certificate") {
		t.Errorf("another CA: exit %d\n%s", code, errs)
	}
	code, _, errs := runCmd(t, "channel", "serve", "--listen", "127.0.0.1:0", "-i", filepath.Join(f.dir, "alice.key"), "--cert", bobChain, "--echo")
	if code != 2 || !strings.Contains(errs, "not the identity -i gives") {
		t.Errorf("--cert of another identity: exit %d\n%s", code, errs)
	}

	seed := startChannelServer(t, bob, "--profile", "seed", "--seed-key", "identity", "--cert", bobChain)
	if code, out, errs := connectWith(t, "seed\n", seed.addr, "--profile", "seed", "--server-ca", f.caFile, "--server-name", "db.example.com"); code != 0 || out != "seed\n" {
		t.Fatalf("certified seed server: exit %d, %q\n%s", code, out, errs)
	}

	script := `printf %s "$KEYBLOB_CHANNEL_PEER_NAME"`
	mtls := startChannelServerArgs(t, bob, "--cert", bobChain, "--authorized-ca", f.caFile, "--authorized-name", "*@example.com", "--exec", "sh", "--", "-c", script)
	client := func(who, chain string) (int, string, string) {
		return connectWith(t, "", mtls.addr, "--server-ca", f.caFile, "--server-name", "db.example.com",
			"-i", filepath.Join(f.dir, who+".key"), "--cert", chain)
	}
	if code, out, errs := client("alice", aliceChain); code != 0 || out != "alice@example.com" {
		t.Fatalf("certified client: exit %d, %q\n%s", code, out, errs)
	}
	if code, _, errs := client("mallory", malloryChain); code != 1 {
		t.Errorf("a client certified for a name not authorized: exit %d\n%s", code, errs)
	}
	if code, _, errs := connectWith(t, "", mtls.addr, "--server-ca", f.caFile, "--server-name", "db.example.com", "-i", filepath.Join(f.dir, "alice.key")); code != 1 {
		t.Errorf("a client without certificate: exit %d\n%s", code, errs)
	}
	waitLog(t, mtls.stderr, `client_name=alice@example.com`)
}

// TestChannelCertificateRevoked: a server with --crl refuses a client
// whose certificate the CRL revokes.
func TestChannelCertificateRevoked(t *testing.T) {
	f := newCertFixture(t)
	bob, _ := f.certify(t, "bob", cert.Names{DNS: []string{"db.example.com"}})
	_, aliceChain := f.certify(t, "alice", cert.Names{Email: []string{"alice@example.com"}})
	chain, err := cert.ParseChain(mustRead(t, aliceChain))
	if err != nil {
		t.Fatal(err)
	}
	crl, err := cert.CreateCRL(f.ca, f.caID, []cert.Revoked{{Serial: chain[0].SerialNumber, At: time.Now().Add(-time.Minute)}}, time.Now().Add(-time.Minute), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	crlFile := f.write(t, "ca.crl", cert.EncodePEM(cert.PEMCRL, crl))
	srv := startChannelServer(t, bob, "--authorized-ca", f.caFile, "--crl", crlFile)
	code, _, errs := connectWith(t, "x", srv.addr, "--server", bob.Recipient().String(), "-i", filepath.Join(f.dir, "alice.key"), "--cert", aliceChain)
	if code != 1 {
		t.Errorf("a revoked client: exit %d\n%s", code, errs)
	}
	waitLog(t, srv.stderr, "revoked")
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
