package keyblob

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/keyblob/keyblob/internal/suite"
)

func TestRecipientRoundTrip(t *testing.T) {
	for _, kind := range Kinds() {
		t.Run(kind, func(t *testing.T) {
			r := testIdentity(t, "alice", kind).Recipient()
			line := r.String()
			if want := RecipientPrefix + kind + ":"; !strings.HasPrefix(line, want) {
				t.Errorf("recipient line %.40q does not start with %q", line, want)
			}
			if strings.ContainsAny(line, "\n\r \t=") {
				t.Errorf("recipient line contains white space or padding")
			}
			got, err := ParseRecipientLine(line)
			if err != nil {
				t.Fatalf("ParseRecipientLine: %v", err)
			}
			if !got.Equal(r) || got.Kind() != kind || got.String() != line {
				t.Errorf("line round trip gives %s, want %s", got, r)
			}
			if got.ExchangeAlg() != r.ExchangeAlg() || got.SignatureAlg() != r.SignatureAlg() {
				t.Errorf("algorithms changed in the round trip")
			}

			pemFile, err := r.MarshalPEM()
			if err != nil {
				t.Fatal(err)
			}
			fromPEM, err := ParseRecipient(pemFile)
			if err != nil {
				t.Fatalf("ParseRecipient(PEM): %v", err)
			}
			if !fromPEM.Equal(r) || fromPEM.String() != line {
				t.Errorf("PEM round trip gives %s, want %s", fromPEM, r)
			}
			again, err := fromPEM.MarshalPEM()
			if err != nil || !bytes.Equal(again, pemFile) {
				t.Errorf("MarshalPEM after ParseRecipient differs (%v)", err)
			}

			fromLine, err := ParseRecipient([]byte("# alice\n\n  " + line + "  \n"))
			if err != nil || !fromLine.Equal(r) {
				t.Errorf("ParseRecipient(line with comments): %v", err)
			}
		})
	}
}

func TestParseRecipients(t *testing.T) {
	a := testIdentity(t, "alice", KindX25519).Recipient()
	b := testIdentity(t, "bob", KindHybrid).Recipient()
	rs, err := ParseRecipients([]byte("# team\n" + a.String() + "\r\n\n# bob\n" + b.String() + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || !rs[0].Equal(a) || !rs[1].Equal(b) {
		t.Fatalf("ParseRecipients returned %d recipients, want alice then bob", len(rs))
	}
	if _, err := ParseRecipient([]byte(a.String() + "\n" + b.String())); err == nil || !strings.Contains(err.Error(), "want one recipient, found 2") {
		t.Errorf("ParseRecipient with two lines: %v", err)
	}
	if _, err := ParseRecipients([]byte(a.String() + "\nkeyblob:x25519:AAAA\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("ParseRecipients does not name the bad line: %v", err)
	}
	rs, err = ParseRecipients([]byte("# nobody\n"))
	if err != nil || len(rs) != 0 {
		t.Errorf("ParseRecipients(comments only) = %d, %v; want none", len(rs), err)
	}
}

// rawRecipient encodes a recipient body as the recipient line does.
func rawRecipient(exAlg uint8, ex []byte, sigAlg uint8, sig []byte) []byte {
	var b cryptobyte.Builder
	b.AddUint8(exAlg)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(ex) })
	b.AddUint8(sigAlg)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(sig) })
	return b.BytesOrPanic()
}

func line(kind string, raw []byte) string {
	return RecipientPrefix + kind + ":" + base64.RawURLEncoding.EncodeToString(raw)
}

func TestParseRecipientLineRejects(t *testing.T) {
	x := testIdentity(t, "alice", KindX25519).Recipient()
	h := testIdentity(t, "alice", KindHybrid).Recipient()
	r := testIdentity(t, "alice", KindRSA2048).Recipient()
	xEx, xSig := x.exchange.Bytes(), x.signing.Bytes()
	rEx, rSig := r.exchange.Bytes(), r.signing.Bytes()
	good := x.String()
	_, b64, _ := strings.Cut(strings.TrimPrefix(good, RecipientPrefix), ":")

	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	smallDER := x509.MarshalPKCS1PublicKey(&small.PublicKey)

	// Non-canonical DER of the same RSA key: a redundant leading zero in
	// the modulus, and a long-form length.
	leadingZero := nonMinimalModulus(t, rEx)
	if rEx[0] != 0x30 || rEx[1] != 0x82 {
		t.Fatalf("unexpected DER of an RSA-2048 key: % x", rEx[:4])
	}
	longLength := append([]byte{0x30, 0x83, 0x00}, rEx[2:]...)
	stdAlphabet := RecipientPrefix + KindX25519 + ":" + strings.Map(func(r rune) rune {
		switch r {
		case '-':
			return '+'
		case '_':
			return '/'
		}
		return r
	}, b64)
	if stdAlphabet == good {
		stdAlphabet = good + "+/"
	}

	tests := []struct {
		name string
		line string
		want string
	}{
		{"empty", "", "malformed recipient line"},
		{"no prefix", strings.TrimPrefix(good, RecipientPrefix), "malformed recipient line"},
		{"upper-case prefix", "KEYBLOB:" + strings.TrimPrefix(good, RecipientPrefix), "malformed recipient line"},
		{"no kind", RecipientPrefix + b64, "malformed recipient line"},
		{"wrong kind label", strings.Replace(good, ":x25519:", ":hybrid:", 1), `says kind "hybrid" but holds "x25519"`},
		{"empty kind label", strings.Replace(good, ":x25519:", "::", 1), `says kind ""`},
		{"padded base64", good + "=", "malformed recipient line"},
		{"standard base64 alphabet", stdAlphabet, "malformed recipient line"},
		{"non-zero trailing bits", good[:len(good)-1] + nextChar(good[len(good)-1]), "malformed recipient line"},
		{"embedded newline", good[:30] + "\n" + good[30:], "malformed recipient line"},
		{"embedded carriage return", good[:30] + "\r" + good[30:], "malformed recipient line"},
		{"trailing space", good + " ", "malformed recipient line"},
		{"trailing bytes", line(KindX25519, append(rawRecipient(2, xEx, 1, xSig), 0)), "malformed recipient line"},
		{"truncated", line(KindX25519, rawRecipient(2, xEx, 1, xSig)[:40]), "malformed recipient line"},
		{"short X25519 key", line(KindX25519, rawRecipient(2, xEx[:31], 1, xSig)), "bad exchange key"},
		{"long Ed25519 key", line(KindX25519, rawRecipient(2, xEx, 1, append(bytes.Clone(xSig), 0))), "bad signature key"},
		{"short hybrid key", line(KindHybrid, rawRecipient(1, h.exchange.Bytes()[:suite.XWingPublicSize-1], 1, xSig)), "bad exchange key"},
		{"X25519 key as hybrid", line(KindHybrid, rawRecipient(1, xEx, 1, xSig)), "bad exchange key"},
		{"unknown exchange algorithm", line(KindX25519, rawRecipient(9, xEx, 1, xSig)), "unknown exchange algorithm 9"},
		{"unknown signature algorithm", line(KindX25519, rawRecipient(2, xEx, 7, xSig)), "unknown signature algorithm 7"},
		{"no algorithm with a key", line(KindX25519, rawRecipient(0, xEx, 1, xSig)), "bad exchange key"},
		{"no key at all", line("", rawRecipient(0, nil, 0, nil)), "no key"},
		{"RSA exchange with Ed25519 signature", line(KindRSA2048, rawRecipient(3, rEx, 1, xSig)), "unsupported key pair"},
		{"RSA 1024", line("rsa-1024", rawRecipient(3, smallDER, 2, smallDER)), "RSA key of 1024 bits"},
		{"RSA modulus with a leading zero", line(KindRSA2048, rawRecipient(3, leadingZero, 2, rSig)), "bad RSA public key"},
		{"RSA long-form length", line(KindRSA2048, rawRecipient(3, longLength, 2, rSig)), "bad RSA public key"},
		{"RSA DER with a trailing byte", line(KindRSA2048, rawRecipient(3, append(bytes.Clone(rEx), 0), 2, rSig)), "bad RSA public key"},
		{"RSA garbage", line(KindRSA2048, rawRecipient(3, []byte{1, 2, 3}, 2, rSig)), "bad RSA public key"},
		{"too long", RecipientPrefix + "x25519:" + strings.Repeat("A", maxRecipientLine), "malformed recipient line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRecipientLine(tt.line)
			if err == nil {
				t.Fatalf("ParseRecipientLine accepted %s", got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
	// The canonical encodings the bad cases were made from are accepted.
	for _, l := range []string{line(KindX25519, rawRecipient(2, xEx, 1, xSig)), line(KindRSA2048, rawRecipient(3, rEx, 2, rSig))} {
		if _, err := ParseRecipientLine(l); err != nil {
			t.Errorf("the canonical line was rejected: %v", err)
		}
	}
}

// nextChar returns the base64url character after c, to set a trailing bit.
func nextChar(c byte) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, c)
	return string(alphabet[(i+1)%len(alphabet)])
}

// nonMinimalModulus re-encodes a PKCS #1 public key with a redundant zero
// byte before the modulus.
func nonMinimalModulus(t *testing.T, der []byte) []byte {
	t.Helper()
	in := cryptobyte.String(der)
	var seq, n, e cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1(&n, cbasn1.INTEGER) || !seq.ReadASN1(&e, cbasn1.INTEGER) {
		t.Fatal("cannot split the RSA key")
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.INTEGER, func(b *cryptobyte.Builder) { b.AddUint8(0); b.AddBytes(n) })
		b.AddASN1(cbasn1.INTEGER, func(b *cryptobyte.Builder) { b.AddBytes(e) })
	})
	return b.BytesOrPanic()
}

func TestParseRecipientPEMRejects(t *testing.T) {
	x := testIdentity(t, "alice", KindX25519)
	pub := mustRecipientPEM(t, x.Recipient())
	blocks := pemBlocksOf(t, pub)
	priv, err := x.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data string
		want string
	}{
		{"private key", string(priv), `"PRIVATE KEY" where "PUBLIC KEY"`},
		{"three blocks", string(pub) + string(blocks[1]), "not 3"},
		{"wrong order", string(blocks[1]) + string(blocks[0]), "first of two keys must be an exchange key"},
		{"text around", string(pub) + "x\n", "unexpected text"},
		{"garbage", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "public key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRecipient([]byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseRecipient = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	r := testIdentity(t, "alice", KindX25519).Recipient()
	f := r.ExchangeFingerprint()
	s := f.String()
	if !strings.HasPrefix(s, "SHA256:") || len(s) != len("SHA256:")+43 {
		t.Errorf("fingerprint string %q is not SHA256: and 43 characters", s)
	}
	got, err := ParseFingerprint(s)
	if err != nil || got != f || !got.Equal(f) {
		t.Errorf("ParseFingerprint(%q) = %v, %v", s, got, err)
	}
	// The fingerprint is SHA-256 over the separator, role, algorithm and key.
	if want := fingerprint(roleExchange, byte(ExchangeX25519), r.exchange.Bytes()); f != want {
		t.Errorf("exchange fingerprint does not follow its definition")
	}
	if r.SigningFingerprint() == fingerprint(roleExchange, byte(SignatureEd25519), r.signing.Bytes()) {
		t.Errorf("the signature fingerprint ignores the role")
	}
	if f.IsZero() || !(Fingerprint{}).IsZero() {
		t.Errorf("IsZero is wrong")
	}
	for _, bad := range []string{"", s[7:], "sha256:" + s[7:], s + "A", s[:len(s)-1], s[:20] + "\n" + s[20:], s + "=", "SHA256:" + strings.Repeat("_", 43)} {
		if _, err := ParseFingerprint(bad); err == nil {
			t.Errorf("ParseFingerprint(%q) succeeded", bad)
		}
	}
}

func TestAlgorithmNames(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{ExchangeNone.String(), "none"},
		{ExchangeHybrid.String(), "MLKEM768-X25519 HPKE"},
		{ExchangeX25519.String(), "X25519 HPKE"},
		{ExchangeRSAOAEP.String(), "RSA-OAEP-SHA256"},
		{ExchangeAlg(4).String(), "unknown exchange algorithm 4"},
		{SignatureNone.String(), "none"},
		{SignatureEd25519.String(), "Ed25519"},
		{SignatureRSAPSS.String(), "RSA-PSS-SHA256"},
		{SignatureAlg(3).String(), "unknown signature algorithm 3"},
		{SessionAES256GCM.String(), "AES-256-GCM-STREAM"},
		{SessionAlg(2).String(), "unknown session key algorithm 2"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	if ExchangeX25519.PostQuantum() || ExchangeRSAOAEP.PostQuantum() || !ExchangeHybrid.PostQuantum() {
		t.Errorf("PostQuantum is wrong")
	}
}

func TestRecipientVerifyErrors(t *testing.T) {
	r := testIdentity(t, "alice", KindX25519).Recipient()
	onlyEx, err := newRecipient(r.exchange, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := onlyEx.Verify("ctx", nil, make([]byte, 64)); !errors.Is(err, ErrAuth) {
		t.Errorf("Verify without a signature key = %v, want ErrAuth", err)
	}
	if onlyEx.SignatureAlg() != SignatureNone || !onlyEx.SigningFingerprint().IsZero() {
		t.Errorf("an exchange-only recipient reports a signature key")
	}
}
