package keyblob

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/keyblob/keyblob/internal/format"
	"github.com/keyblob/keyblob/internal/suite"
)

// cachedIdentity generates one identity at most once per test binary.
type cachedIdentity struct {
	once sync.Once
	id   *Identity
	err  error
}

var identityCache sync.Map // "name/kind" -> *cachedIdentity

// testIdentity returns the identity called name of the given kind, made
// once per test binary: RSA key generation is slow. rsa-4096 identities are
// skipped in -short mode.
func testIdentity(tb testing.TB, name, kind string) *Identity {
	tb.Helper()
	if kind == KindRSA4096 && testing.Short() {
		tb.Skip("rsa-4096 key generation is slow; skipped in -short mode")
	}
	v, _ := identityCache.LoadOrStore(name+"/"+kind, new(cachedIdentity))
	c := v.(*cachedIdentity)
	c.once.Do(func() { c.id, c.err = GenerateIdentity(kind) })
	if c.err != nil {
		tb.Fatalf("GenerateIdentity(%q): %v", kind, c.err)
	}
	return c.id
}

// blobKinds are the kinds the key blob tests run on; rsa-3072 and rsa-4096
// only differ from rsa-2048 by their size and are covered by the round
// trip tests.
var blobKinds = []string{KindHybrid, KindX25519, KindRSA2048}

// pemBlocksOf splits data into its PEM blocks, each re-encoded on its own.
func pemBlocksOf(t testing.TB, data []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		out = append(out, pem.EncodeToMemory(b))
	}
	if len(out) == 0 {
		t.Fatalf("no PEM block in %q", data)
	}
	return out
}

func pkcs8PEM(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: format.PEMPrivateKey, Bytes: der})
}

// requireOpenSSL returns the path of openssl, or skips the test.
func requireOpenSSL(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not on PATH; skipping the interoperability test")
	}
	return path
}

// openssl runs openssl with args and returns its standard output.
func openssl(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(requireOpenSSL(t), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

// opensslKey makes a private key with openssl genpkey and returns the file.
func opensslKey(t *testing.T, algorithm string, opts ...string) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "key.pem")
	args := append([]string{"genpkey", "-algorithm", algorithm, "-out", path}, opts...)
	openssl(t, args...)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func writeTemp(t *testing.T, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "file.pem")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestIdentityRoundTrip(t *testing.T) {
	for _, kind := range Kinds() {
		t.Run(kind, func(t *testing.T) {
			id := testIdentity(t, "alice", kind)
			if id.Kind() != kind {
				t.Errorf("Kind() = %q, want %q", id.Kind(), kind)
			}
			if !id.CanExchange() || !id.CanSign() {
				t.Errorf("CanExchange() = %v, CanSign() = %v; want both", id.CanExchange(), id.CanSign())
			}
			file, err := id.MarshalPEM()
			if err != nil {
				t.Fatal(err)
			}
			if n := len(pemBlocksOf(t, file)); n != 2 {
				t.Errorf("identity file holds %d PEM blocks, want 2 (exchange and signature keys)", n)
			}
			if !bytes.Contains(file, []byte(id.Recipient().Fingerprint().String())) {
				t.Errorf("identity file does not name its fingerprint:\n%s", file)
			}
			got, err := ParseIdentity(file)
			if err != nil {
				t.Fatalf("ParseIdentity: %v", err)
			}
			if !got.Recipient().Equal(id.Recipient()) {
				t.Errorf("parsed identity has recipient %s, want %s", got.Recipient(), id.Recipient())
			}
			if got.Recipient().String() != id.Recipient().String() {
				t.Errorf("recipient lines differ after the round trip")
			}
			again, err := got.MarshalPEM()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, file) {
				t.Errorf("MarshalPEM after ParseIdentity differs:\n%s\nwant\n%s", again, file)
			}
			other := testIdentity(t, "bob", kind)
			if other.Recipient().Equal(id.Recipient()) {
				t.Errorf("two generated identities have the same recipient")
			}
		})
	}
}

func TestGenerateIdentityKinds(t *testing.T) {
	id, err := GenerateIdentity("")
	if err != nil {
		t.Fatal(err)
	}
	if id.Kind() != Kinds()[0] || Kinds()[0] != KindHybrid {
		t.Errorf("the default kind is %q, Kinds()[0] is %q; want %q", id.Kind(), Kinds()[0], KindHybrid)
	}
	if !id.Recipient().ExchangeAlg().PostQuantum() {
		t.Errorf("the default exchange algorithm %s is not post-quantum", id.Recipient().ExchangeAlg())
	}
	if _, err := GenerateIdentity("rsa-1024"); err == nil || !strings.Contains(err.Error(), "unknown identity kind") {
		t.Errorf("GenerateIdentity(rsa-1024) = %v, want an unknown kind error", err)
	}
	tests := []struct {
		kind   string
		ex     ExchangeAlg
		sig    SignatureAlg
		rsaLen int
	}{
		{KindHybrid, ExchangeHybrid, SignatureEd25519, 0},
		{KindX25519, ExchangeX25519, SignatureEd25519, 0},
		{KindRSA2048, ExchangeRSAOAEP, SignatureRSAPSS, 2048},
		{KindRSA3072, ExchangeRSAOAEP, SignatureRSAPSS, 3072},
		{KindRSA4096, ExchangeRSAOAEP, SignatureRSAPSS, 4096},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			r := testIdentity(t, "alice", tt.kind).Recipient()
			if r.ExchangeAlg() != tt.ex || r.SignatureAlg() != tt.sig {
				t.Errorf("algorithms %s / %s, want %s / %s", r.ExchangeAlg(), r.SignatureAlg(), tt.ex, tt.sig)
			}
			if got := r.exchange.Bits(); got != tt.rsaLen {
				t.Errorf("exchange key of %d bits, want %d", got, tt.rsaLen)
			}
			if tt.rsaLen != 0 && r.sameRSAKey() {
				t.Errorf("a generated RSA identity uses one key for both roles")
			}
			if r.ExchangeFingerprint() == r.SigningFingerprint() {
				t.Errorf("exchange and signature fingerprints are equal")
			}
		})
	}
}

func TestSingleKeyIdentities(t *testing.T) {
	xk, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, ek, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rk := rsaKeyOf(t, testIdentity(t, "alice", KindRSA2048))
	hybridFile, err := testIdentity(t, "alice", KindHybrid).MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                string
		file                []byte
		kind                string
		canExchange, canSig bool
	}{
		{"x25519", pkcs8PEM(t, xk), "x25519-exchange", true, false},
		{"ed25519", pkcs8PEM(t, ek), "ed25519-signing", false, true},
		{"rsa", pkcs8PEM(t, rk), KindRSA2048, true, true},
		{"hybrid", pemBlocksOf(t, hybridFile)[0], "hybrid-exchange", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := ParseIdentity(tt.file)
			if err != nil {
				t.Fatalf("ParseIdentity: %v", err)
			}
			r := id.Recipient()
			if id.Kind() != tt.kind || r.Kind() != tt.kind {
				t.Errorf("kind %q (recipient %q), want %q", id.Kind(), r.Kind(), tt.kind)
			}
			if id.CanExchange() != tt.canExchange || r.CanExchange() != tt.canExchange {
				t.Errorf("CanExchange = %v, want %v", id.CanExchange(), tt.canExchange)
			}
			if id.CanSign() != tt.canSig || r.CanVerify() != tt.canSig {
				t.Errorf("CanSign = %v, want %v", id.CanSign(), tt.canSig)
			}
			if tt.canExchange && r.Fingerprint() != r.ExchangeFingerprint() {
				t.Errorf("Fingerprint is not the exchange fingerprint")
			}
			if !tt.canExchange && (r.Fingerprint() != r.SigningFingerprint() || !r.ExchangeFingerprint().IsZero()) {
				t.Errorf("a signing-only recipient has fingerprint %s, exchange fingerprint %s", r.Fingerprint(), r.ExchangeFingerprint())
			}
			file, err := id.MarshalPEM()
			if err != nil {
				t.Fatal(err)
			}
			if n := len(pemBlocksOf(t, file)); n != 1 {
				t.Errorf("MarshalPEM wrote %d blocks for a one-key identity, want 1", n)
			}
			again, err := ParseIdentity(file)
			if err != nil || !again.Recipient().Equal(r) || again.Kind() != tt.kind {
				t.Errorf("round trip of the one-key identity: %v", err)
			}
			line, err := ParseRecipientLine(r.String())
			if err != nil || !line.Equal(r) {
				t.Errorf("recipient line round trip: %v", err)
			}

			sig, err := id.Sign("test", []byte("message"))
			if tt.canSig {
				if err != nil || r.Verify("test", []byte("message"), sig) != nil {
					t.Errorf("Sign/Verify: %v", err)
				}
			} else if !errors.Is(err, ErrCannotSign) {
				t.Errorf("Sign on a receive-only identity: %v, want ErrCannotSign", err)
			}

			sk := NewSessionKey()
			blob, err := Export(sk, r, nil)
			if !tt.canExchange {
				if err == nil {
					t.Errorf("Export to a signing-only recipient succeeded")
				}
				if _, err := Import(mustExport(t, sk, testIdentity(t, "bob", KindX25519).Recipient(), nil), id, nil); !errors.Is(err, ErrCannotExchange) {
					t.Errorf("Import with a signing-only identity: %v, want ErrCannotExchange", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := Import(blob, id, nil)
			if err != nil || !got.Equal(sk) {
				t.Errorf("Import: %v", err)
			}
		})
	}
}

// TestSignContexts checks that a signature made in one context does not
// verify in another, nor for another message or signer.
func TestSignContexts(t *testing.T) {
	for _, kind := range blobKinds {
		t.Run(kind, func(t *testing.T) {
			alice := testIdentity(t, "alice", kind)
			bob := testIdentity(t, "bob", kind)
			sig, err := alice.Sign("ctx", []byte("msg"))
			if err != nil {
				t.Fatal(err)
			}
			if err := alice.Recipient().Verify("ctx", []byte("msg"), sig); err != nil {
				t.Errorf("Verify: %v", err)
			}
			bad := []struct {
				name string
				r    *Recipient
				ctx  string
				msg  string
			}{
				{"other context", alice.Recipient(), "ctx2", "msg"},
				{"context boundary", alice.Recipient(), "ct", "x\x00msg"},
				{"other message", alice.Recipient(), "ctx", "msh"},
				{"other signer", bob.Recipient(), "ctx", "msg"},
			}
			for _, b := range bad {
				if err := b.r.Verify(b.ctx, []byte(b.msg), sig); !errors.Is(err, ErrAuth) {
					t.Errorf("%s: Verify = %v, want ErrAuth", b.name, err)
				}
			}
		})
	}
}

func TestOpenSSLKeysAreIdentities(t *testing.T) {
	requireOpenSSL(t)
	x := opensslKey(t, "X25519")
	e := opensslKey(t, "ED25519")
	r := opensslKey(t, "RSA", "-pkeyopt", "rsa_keygen_bits:2048")
	tests := []struct {
		name        string
		file        []byte
		kind        string
		canExchange bool
		canSign     bool
	}{
		{"X25519", x, "x25519-exchange", true, false},
		{"ED25519", e, "ed25519-signing", false, true},
		{"RSA", r, KindRSA2048, true, true},
		{"X25519+ED25519", append(append([]byte{}, x...), e...), KindX25519, true, true},
		{"X25519+ED25519 with comments", []byte("# mine\n\n" + string(x) + "\n# signing\n" + string(e)), KindX25519, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := ParseIdentity(tt.file)
			if err != nil {
				t.Fatalf("ParseIdentity: %v", err)
			}
			if id.Kind() != tt.kind || id.CanExchange() != tt.canExchange || id.CanSign() != tt.canSign {
				t.Errorf("kind %q exchange %v sign %v, want %q %v %v",
					id.Kind(), id.CanExchange(), id.CanSign(), tt.kind, tt.canExchange, tt.canSign)
			}
			if tt.canExchange {
				sk := NewSessionKey()
				got, err := Import(mustExport(t, sk, id.Recipient(), nil), id, nil)
				if err != nil || !got.Equal(sk) {
					t.Errorf("Export/Import with the openssl key: %v", err)
				}
			}
			if tt.canSign {
				sig, err := id.Sign("ctx", []byte("m"))
				if err != nil || id.Recipient().Verify("ctx", []byte("m"), sig) != nil {
					t.Errorf("Sign/Verify with the openssl key: %v", err)
				}
			}
		})
	}
	t.Run("RSA both roles", func(t *testing.T) {
		id, err := ParseIdentity(r)
		if err != nil {
			t.Fatal(err)
		}
		if !id.Recipient().sameRSAKey() {
			t.Errorf("one openssl RSA key does not play both roles")
		}
		pub, err := id.Recipient().MarshalPEM()
		if err != nil {
			t.Fatal(err)
		}
		if n := len(pemBlocksOf(t, pub)); n != 1 {
			t.Errorf("public key file of a one-key RSA identity has %d blocks, want 1", n)
		}
	})
}

func TestOpenSSLReadsOurKeys(t *testing.T) {
	requireOpenSSL(t)
	x := opensslKey(t, "X25519")
	e := opensslKey(t, "ED25519")
	cases := []struct {
		name string
		id   func(t *testing.T) *Identity
		// what openssl's text of each public block must contain, in order
		want []string
	}{
		{KindX25519, func(t *testing.T) *Identity { return testIdentity(t, "alice", KindX25519) }, []string{"X25519 Public-Key", "ED25519 Public-Key"}},
		{KindRSA2048, func(t *testing.T) *Identity { return testIdentity(t, "alice", KindRSA2048) }, []string{"Public-Key: (2048 bit)\nModulus", "Public-Key: (2048 bit)\nModulus"}},
		{"x25519-exchange", func(t *testing.T) *Identity { return mustParseIdentity(t, x) }, []string{"X25519 Public-Key"}},
		{"ed25519-signing", func(t *testing.T) *Identity { return mustParseIdentity(t, e) }, []string{"ED25519 Public-Key"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := c.id(t)
			pub, err := id.Recipient().MarshalPEM()
			if err != nil {
				t.Fatal(err)
			}
			priv, err := id.MarshalPEM()
			if err != nil {
				t.Fatal(err)
			}
			pubBlocks, privBlocks := pemBlocksOf(t, pub), pemBlocksOf(t, priv)
			if len(pubBlocks) != len(c.want) || len(privBlocks) != len(c.want) {
				t.Fatalf("%d public and %d private blocks, want %d", len(pubBlocks), len(privBlocks), len(c.want))
			}
			for i, alg := range c.want {
				text := string(openssl(t, "pkey", "-pubin", "-in", writeTemp(t, pubBlocks[i]), "-noout", "-text"))
				if !strings.Contains(text, alg) {
					t.Errorf("openssl describes public block %d as %q, want %s", i, firstLine(text), alg)
				}
				openssl(t, "pkey", "-in", writeTemp(t, privBlocks[i]), "-noout")
				// openssl derives the same public key from our private key.
				derived := openssl(t, "pkey", "-in", writeTemp(t, privBlocks[i]), "-pubout")
				if !bytes.Equal(derived, pubBlocks[i]) {
					t.Errorf("openssl derives public key\n%s\nfrom block %d, want\n%s", derived, i, pubBlocks[i])
				}
			}
			// The whole identity file is read too (openssl takes the first key).
			openssl(t, "pkey", "-in", writeTemp(t, priv), "-noout")
		})
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func mustParseIdentity(t *testing.T, data []byte) *Identity {
	t.Helper()
	id, err := ParseIdentity(data)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestHybridPublicKeyPEM checks the X-Wing public and private key
// encodings through our own parser: OpenSSL 3.0 does not know the OID.
func TestHybridPublicKeyPEM(t *testing.T) {
	id := testIdentity(t, "alice", KindHybrid)
	pub, err := id.Recipient().MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	blocks := pemBlocksOf(t, pub)
	if len(blocks) != 2 {
		t.Fatalf("%d public key blocks, want 2", len(blocks))
	}
	b, _ := pem.Decode(blocks[0])
	raw := id.Recipient().exchange.Bytes()
	ex, sig, err := suite.ParsePKIX(b.Bytes)
	if err != nil || sig != nil || ex.Suite() != suite.Hybrid || len(raw) != suite.XWingPublicSize ||
		!bytes.Equal(ex.Bytes(), raw) || !bytes.Equal(b.Bytes, testXWingSPKI(t, raw)) {
		t.Errorf("the first block is not the X-Wing SubjectPublicKeyInfo of the exchange key (err %v)", err)
	}
	if !bytes.Contains(b.Bytes, mustASN1OID(t)) {
		t.Errorf("the SubjectPublicKeyInfo does not hold the X-Wing OID")
	}
	r, err := ParseRecipient(pub)
	if err != nil || !r.Equal(id.Recipient()) || r.Kind() != KindHybrid {
		t.Errorf("ParseRecipient of the hybrid public key file: %v", err)
	}
	priv, err := id.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	pb, _ := pem.Decode(pemBlocksOf(t, priv)[0])
	var info testPKCS8
	if rest, err := asn1.Unmarshal(pb.Bytes, &info); err != nil || len(rest) != 0 || !info.Algorithm.Algorithm.Equal(testOIDXWing) ||
		len(info.PrivateKey) != suite.XWingSeedSize || !bytes.Equal(pb.Bytes, testXWingPKCS8(t, info.PrivateKey)) {
		t.Errorf("the first private block is not an X-Wing PKCS #8 seed (err %v)", err)
	}
	// A changed seed length or extra bytes are refused.
	for _, bad := range [][]byte{append(bytes.Clone(pb.Bytes), 0), testXWingPKCS8(t, make([]byte, 31))} {
		if _, _, err := suite.ParsePKCS8(bad); err == nil {
			t.Errorf("suite.ParsePKCS8 accepted a malformed X-Wing key %x", bad)
		}
	}
}

// testOIDXWing is id-XWing, as the test writes it independently of
// internal/suite.
var testOIDXWing = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 62253, 25722}

type testPKCS8 struct {
	Version    int
	Algorithm  pkix.AlgorithmIdentifier
	PrivateKey []byte
}

// testXWingPKCS8 is the PKCS #8 DER of an X-Wing seed.
func testXWingPKCS8(t *testing.T, seed []byte) []byte {
	der, err := asn1.Marshal(testPKCS8{Algorithm: pkix.AlgorithmIdentifier{Algorithm: testOIDXWing}, PrivateKey: seed})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// testXWingSPKI is the SubjectPublicKeyInfo DER of an X-Wing public key.
func testXWingSPKI(t *testing.T, pub []byte) []byte {
	der, err := asn1.Marshal(struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}{pkix.AlgorithmIdentifier{Algorithm: testOIDXWing}, asn1.BitString{Bytes: pub, BitLength: 8 * len(pub)}})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func mustASN1OID(t *testing.T) []byte {
	// 1.3.6.1.4.1.62253.25722 in DER: 06 0b 2b 06 01 04 01 83 e6 2d 81 c8 7a
	want := []byte{0x06, 0x0b, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xe6, 0x2d, 0x81, 0xc8, 0x7a}
	if der := testXWingSPKI(t, make([]byte, 4)); !bytes.Contains(der, want) {
		t.Fatalf("the X-Wing OID does not encode as %x", want)
	}
	return want
}

// rsaKeyOf returns the RSA private key of an RSA identity's exchange key.
func rsaKeyOf(t *testing.T, id *Identity) *rsa.PrivateKey {
	t.Helper()
	der, err := id.exchange.MarshalPKCS8()
	if err != nil {
		t.Fatal(err)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PrivateKey)
}

func TestParseIdentityRejects(t *testing.T) {
	x := testIdentity(t, "alice", KindX25519)
	file, err := x.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	blocks := pemBlocksOf(t, file)
	exBlock, sigBlock := string(blocks[0]), string(blocks[1])
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p256, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	exDER, _ := pem.Decode(blocks[0])
	legacyEncrypted := pem.EncodeToMemory(&pem.Block{
		Type:    format.PEMPrivateKey,
		Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00112233445566778899AABBCCDDEEFF"},
		Bytes:   exDER.Bytes,
	})
	tests := []struct {
		name string
		data string
		want string // part of the error message
	}{
		{"empty", "", "not 0"},
		{"comments only", "# nothing\n\n", "not 0"},
		{"three blocks", exBlock + sigBlock + sigBlock, "one or two keys, not 3"},
		{"wrong order", sigBlock + exBlock, "first of two keys must be an exchange key"},
		{"two exchange keys", exBlock + exBlock, "second of two keys must be a signature key"},
		{"text before", "hello\n" + exBlock, "unexpected text outside PEM blocks"},
		{"text between", exBlock + "hello\n" + sigBlock, "unexpected text outside PEM blocks"},
		{"text after", exBlock + sigBlock + "trailing", "unexpected text outside PEM blocks"},
		{"indented block", " " + exBlock, "unexpected text outside PEM blocks"},
		{"broken block before a good one", "-----BEGIN PRIVATE KEY-----\nnot base64!\n" + exBlock, "malformed PEM block"},
		{"unterminated block", strings.TrimSuffix(exBlock, "-----END PRIVATE KEY-----\n"), "malformed PEM block"},
		{"public key", string(mustRecipientPEM(t, x.Recipient())), `"PUBLIC KEY" where "PRIVATE KEY"`},
		{"PKCS #8 encrypted", strings.ReplaceAll(exBlock, "PRIVATE KEY", "ENCRYPTED PRIVATE KEY"), `"ENCRYPTED PRIVATE KEY" where "PRIVATE KEY"`},
		{"legacy encrypted PEM", string(legacyEncrypted), "headers (an encrypted key?)"},
		{"ECDSA P-256", string(pkcs8PEM(t, ecKey)), "unsupported private key type"},
		{"ECDH P-256", string(pkcs8PEM(t, p256)), "unsupported private key type"},
		{"RSA 1024", string(pkcs8PEM(t, small)), "RSA key of 1024 bits"},
		{"garbage DER", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "private key"},
		{"RSA with Ed25519", string(pkcs8PEM(t, small)) + sigBlock, "RSA key of 1024 bits"},
		{"too large", exBlock + strings.Repeat("#\n", maxKeyFileSize), "identity file over"},
	}
	rsa2048 := rsaKeyOf(t, testIdentity(t, "alice", KindRSA2048))
	tests = append(tests, struct{ name, data, want string }{
		"RSA exchange with Ed25519 signature", string(pkcs8PEM(t, rsa2048)) + sigBlock, "unsupported key pair",
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := ParseIdentity([]byte(tt.data))
			if err == nil {
				t.Fatalf("ParseIdentity accepted it as a %s identity", id.Kind())
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestParseIdentityRejectsOpenSSLKeys(t *testing.T) {
	requireOpenSSL(t)
	tests := []struct {
		name string
		file func(t *testing.T) []byte
		want string
	}{
		{"EC P-256", func(t *testing.T) []byte {
			return opensslKey(t, "EC", "-pkeyopt", "ec_paramgen_curve:P-256")
		}, "unsupported private key type"},
		{"RSA 1024", func(t *testing.T) []byte {
			return opensslKey(t, "RSA", "-pkeyopt", "rsa_keygen_bits:1024")
		}, "RSA key of 1024 bits"},
		{"encrypted", func(t *testing.T) []byte {
			return opensslKey(t, "ED25519", "-aes-256-cbc", "-pass", "pass:secret")
		}, "ENCRYPTED PRIVATE KEY"},
		{"X448", func(t *testing.T) []byte { return opensslKey(t, "X448") }, "private key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseIdentity(tt.file(t))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseIdentity = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func mustRecipientPEM(t *testing.T, r *Recipient) []byte {
	t.Helper()
	b, err := r.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseIdentityRejectsTrailingDER: a PKCS #8 block with a byte after its
// PrivateKeyInfo is refused for every kind, so an identity file has one
// encoding (crypto/x509 alone would ignore the extra byte).
func TestParseIdentityRejectsTrailingDER(t *testing.T) {
	for _, kind := range Kinds() {
		t.Run(kind, func(t *testing.T) {
			id, err := GenerateIdentity(kind)
			if err != nil {
				t.Fatal(err)
			}
			data, err := id.MarshalPEM()
			if err != nil {
				t.Fatal(err)
			}
			block, _ := pem.Decode(data)
			if block == nil {
				t.Fatal("no PEM block")
			}
			block.Bytes = append(block.Bytes, 0)
			if _, err := ParseIdentity(pem.EncodeToMemory(block)); err == nil {
				t.Errorf("an identity whose key has a trailing byte was accepted")
			}
		})
	}
}
