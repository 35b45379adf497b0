//go:build unix

package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/keystore"
)

// testPKI is a private CA and the files of a TLS certificate it signed
// for 127.0.0.1.
type testPKI struct {
	caFile, certFile, keyFile string
}

// newTestPKI makes a private CA and a server certificate for 127.0.0.1
// signed by it, and writes the CA's certificate, the server's chain and
// its key (PEM) to dir.
func newTestPKI(t *testing.T, dir, name string) *testPKI {
	t.Helper()
	caKey, caCert := newTestCert(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: name + " CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign,
	}, nil, nil)
	key, cert := newTestCert(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "authority"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, caCert, caKey)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p := &testPKI{caFile: filepath.Join(dir, name+"-ca.pem"), certFile: filepath.Join(dir, name+"-cert.pem"), keyFile: filepath.Join(dir, name+"-key.pem")}
	writePEM(t, p.caFile, 0o644, "CERTIFICATE", caCert.Raw)
	writePEM(t, p.certFile, 0o644, "CERTIFICATE", cert.Raw, caCert.Raw)
	writePEM(t, p.keyFile, 0o600, "PRIVATE KEY", keyDER)
	return p
}

// newTestCert makes a certificate from tmpl, signed by parent's key (or
// self-signed if parent is nil), valid for an hour either side of now.
func newTestCert(t *testing.T, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber, tmpl.NotBefore, tmpl.NotAfter = serial, time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

func writePEM(t *testing.T, name string, mode os.FileMode, typ string, ders ...[]byte) {
	t.Helper()
	var buf bytes.Buffer
	for _, der := range ders {
		pem.Encode(&buf, &pem.Block{Type: typ, Bytes: der})
	}
	if err := os.WriteFile(name, buf.Bytes(), mode); err != nil {
		t.Fatal(err)
	}
}

// startHTTPSAuthority runs authority serve --tls-cert --tls-key with a
// new authority in dir, and returns its address.
func startHTTPSAuthority(t *testing.T, dir string, p *testPKI) string {
	t.Helper()
	return startHTTPSAuthorityWith(t, dir, p, nil, nil)
}

// startHTTPSAuthorityWith is startHTTPSAuthority with extra flags for
// authority init and authority serve.
func startHTTPSAuthorityWith(t *testing.T, dir string, p *testPKI, initFlags, serveFlags []string) string {
	t.Helper()
	authDir, addrFile := filepath.Join(dir, "auth"), filepath.Join(dir, "auth.addr")
	mustRun(t, append([]string{"authority", "init", "--dir", authDir}, initFlags...)...)
	args := append([]string{"authority", "serve", "--dir", authDir, "--listen", "127.0.0.1:0",
		"--addr-file", addrFile, "--tls-cert", p.certFile, "--tls-key", p.keyFile}, serveFlags...)
	cmd := exec.Command(keyblobCommand(t), args...)
	var log bytes.Buffer
	cmd.Stderr = &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("authority serve: %v\n%s", err, log.String())
		}
	})
	return waitAddr(t, addrFile)
}

// TestAuthorityHTTPS runs an authority over HTTPS with a certificate of
// a private CA: authority add refuses it and stores nothing without
// --ca-file (or with another CA's), stores it with the CA's certificate,
// and then enroll, deposit and list work over that connection, by name
// and by URL with --ca-file.
func TestAuthorityHTTPS(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	t.Setenv("KEYBLOB_HOME", home)
	t.Setenv(passphraseEnv, "")
	pki, other := newTestPKI(t, dir, "private"), newTestPKI(t, dir, "other")
	addr := startHTTPSAuthority(t, dir, pki)
	base, pub := "https://"+addr, filepath.Join(dir, "auth", authorityPubFile)
	stored := filepath.Join(home, "authorities", "backup.auth")

	for _, extra := range [][]string{nil, {"--ca-file", other.caFile}} {
		code, _, stderr := runCmd(t, append([]string{"authority", "add", "backup", base, pub}, extra...)...)
		if code != 1 || !strings.Contains(stderr, "nothing was stored") || !strings.Contains(stderr, "--ca-file") {
			t.Errorf("authority add %v without the authority's CA: exit %d\n%s", extra, code, stderr)
		}
		if _, err := os.Stat(stored); err == nil {
			t.Fatalf("authority add %v without the authority's CA stored it", extra)
		}
	}
	mustRun(t, "authority", "add", "backup", base, pub, "--ca-file", pki.caFile)
	checkStoredCA(t, home, pki.caFile)

	id := filepath.Join(dir, "me.key")
	mustRun(t, "keygen", "-o", id)
	code := mustRun(t, "escrow", "enroll", "--authority", "backup", "-i", id)
	if !regexp.MustCompile(`^([A-Z2-7]{4}-){12}[A-Z2-7]{4}\n$`).MatchString(code) {
		t.Errorf("enroll printed %q, not a recovery code", code)
	}
	skey := filepath.Join(dir, "a.skey")
	mustRun(t, "session", "new", "-o", skey)
	serial := strings.TrimSpace(mustRun(t, "escrow", "deposit", "--authority", "backup", "-i", id, "-k", skey, "--description", "over https"))
	list := mustRun(t, "escrow", "list", "--authority", base, "--authority-key", pub, "--ca-file", pki.caFile, "-i", id)
	if !strings.Contains(list, serial) || !strings.Contains(list, "over https") {
		t.Errorf("escrow list by URL does not show the deposit %s:\n%s", serial, list)
	}
	if code, _, stderr := runCmd(t, "escrow", "list", "--authority", base, "--authority-key", pub, "-i", id); code != 1 {
		t.Errorf("escrow list by URL without --ca-file: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := runCmd(t, "escrow", "list", "--authority", "http://"+addr, "--authority-key", pub, "-i", id); code != 1 || !strings.Contains(stderr, "answers in HTTPS") || strings.Contains(stderr, "internal") {
		t.Errorf("plain http:// to the HTTPS port: exit %d\n%s", code, stderr)
	}
}

// TestAuthorityHTTPSPassphraseRecovery runs the whole escrow over HTTPS
// with an authority identity kept under a passphrase (authority init -p):
// the server reads the passphrase from KEYBLOB_PASSPHRASE_FILE, and a
// client trusting the private CA (--ca-file) enrols, deposits, loses its
// identity and recovers the key to a new one, which decrypts what the
// old key encrypted.
func TestAuthorityHTTPSPassphraseRecovery(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	passFile := filepath.Join(dir, "pass")
	if err := os.WriteFile(passFile, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KEYBLOB_HOME", home)
	t.Setenv(passphraseEnv, passFile)
	pki := newTestPKI(t, dir, "private")
	addr := startHTTPSAuthorityWith(t, dir, pki, []string{"-p"}, []string{"--recovery-delay", "0s"})
	key := readFile(filepath.Join(dir, "auth", "authority.key"))
	if !bytes.Contains(key, []byte("ENCRYPTED")) && bytes.Contains(key, []byte("BEGIN PRIVATE KEY")) {
		t.Fatalf("authority init -p left the identity in the clear:\n%s", key)
	}
	pub := filepath.Join(dir, "auth", authorityPubFile)
	mustRun(t, "authority", "add", "backup", "https://"+addr, pub, "--ca-file", pki.caFile)

	id, idPub := filepath.Join(dir, "me.key"), filepath.Join(dir, "me.pub")
	if err := os.WriteFile(idPub, []byte(mustRun(t, "keygen", "-o", id)), 0o644); err != nil {
		t.Fatal(err)
	}
	codeFile := filepath.Join(dir, "code")
	if err := os.WriteFile(codeFile, []byte(mustRun(t, "escrow", "enroll", "--authority", "backup", "-i", id)), 0o600); err != nil {
		t.Fatal(err)
	}
	skey, plain, enc := filepath.Join(dir, "a.skey"), filepath.Join(dir, "plain"), filepath.Join(dir, "plain.enc")
	mustRun(t, "session", "new", "-o", skey)
	if err := os.WriteFile(plain, []byte("kept by the authority"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "encrypt", "-k", skey, "-o", enc, plain)
	serial := strings.TrimSpace(mustRun(t, "escrow", "deposit", "--authority", "backup", "-i", id, "-k", skey))
	os.Remove(id)
	os.Remove(skey)

	mustRun(t, "id", "new", "again")
	out := filepath.Join(dir, "recovered")
	mustRun(t, "escrow", "recover", "--authority", "backup", "--owner", idPub, "--recovery-code-file", codeFile, "--to", "again", "-o", out)
	got := filepath.Join(dir, "got.skey")
	mustRun(t, "import", "-i", "again", "--verify", pub, "-o", got, filepath.Join(out, serial+".blob"))
	back := filepath.Join(dir, "back")
	mustRun(t, "decrypt", "-k", got, "-o", back, enc)
	if !bytes.Equal(readFile(back), []byte("kept by the authority")) {
		t.Fatal("the recovered key does not decrypt what the lost one encrypted")
	}
}

// checkStoredCA checks that the stored authority "backup" trusts the CA
// of caFile, and only it.
func checkStoredCA(t *testing.T, home, caFile string) {
	t.Helper()
	s, err := keystore.Open(home, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.Authority("backup")
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(readFile(caFile))
	if len(a.CAs) != 1 || !bytes.Equal(a.CAs[0].Raw, block.Bytes) || a.InsecureHTTP {
		t.Errorf("stored authority: %d CAs, insecure-http %v; want the one CA of %s", len(a.CAs), a.InsecureHTTP, caFile)
	}
}

// TestCheckTransport checks which URLs the client reaches over plain
// HTTP: loopback ones always, others only when the authority is marked
// insecure-http; HTTPS always. Nothing is connected to.
func TestCheckTransport(t *testing.T) {
	id, err := keyblob.GenerateIdentity(keyblob.KindX25519)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://127.200.3.4/base", true},
		{"http://[::1]:8080", true},
		{"http://localhost:8080", true},
		{"http://LocalHost", true},
		{"http://[::ffff:127.0.0.1]:80", true},
		{"https://192.0.2.1", true},
		{"https://escrow.example", true},
		{"http://192.0.2.1:1", false},
		{"http://10.0.0.1", false},
		{"http://[2001:db8::1]", false},
		{"http://escrow.example", false},
		{"http://localhost.example", false},
		{"http://127.0.0.1.example", false},
		{"http://0.0.0.0:8080", false},
	} {
		for _, insecure := range []bool{false, true} {
			a := &keystore.Authority{URL: tc.url, Recipient: id.Recipient(), InsecureHTTP: insecure}
			_, err := newAuthorityClient(a)
			if want := tc.ok || insecure; (err == nil) != want {
				t.Errorf("%s (insecure-http %v): %v, want allowed %v", tc.url, insecure, err, want)
			}
		}
	}
}

// TestRedirectDowngrade checks that the client follows no redirect from
// https:// to http://, nor to a plain http:// address it would refuse.
func TestRedirectDowngrade(t *testing.T) {
	for _, tc := range []struct {
		from, to string
		ok       bool
	}{
		{"https://escrow.example/v1/authority", "http://escrow.example/v1/authority", false},
		{"https://escrow.example/v1/authority", "http://127.0.0.1/v1/authority", false},
		{"https://escrow.example/v1/authority", "https://mirror.example/v1/authority", true},
		{"http://127.0.0.1:1/v1/authority", "http://192.0.2.1/v1/authority", false},
		{"http://127.0.0.1:1/v1/authority", "http://127.0.0.1:2/v1/authority", true},
	} {
		from, err := http.NewRequest(http.MethodGet, tc.from, nil)
		if err != nil {
			t.Fatal(err)
		}
		to, err := http.NewRequest(http.MethodGet, tc.to, nil)
		if err != nil {
			t.Fatal(err)
		}
		hc := authorityHTTP(&keystore.Authority{URL: tc.from})
		if err := hc.CheckRedirect(to, []*http.Request{from}); (err == nil) != tc.ok {
			t.Errorf("redirect from %s to %s: %v, want followed %v", tc.from, tc.to, err, tc.ok)
		}
	}
}
