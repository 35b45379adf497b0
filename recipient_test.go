package keyblob

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
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
	if _, err := ParseRecipient([]byte(a.String() + "\n" + b.String())); !errors.Is(err, ErrSeveralRecipients) || !strings.Contains(err.Error(), "(2)") {
		t.Errorf("ParseRecipient with two lines: %v, want ErrSeveralRecipients (2)", err)
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

// line makes a recipient line of a kind and a body, with its checksum.
func line(kind string, raw []byte) string {
	return withChecksum(RecipientPrefix + kind + ":" + base64.RawURLEncoding.EncodeToString(raw))
}

// withChecksum appends the checksum field to the text of a line.
func withChecksum(text string) string { return text + ":" + lineChecksum(text) }

// splitLine returns the text of a line and its checksum field.
func splitLine(t testing.TB, l string) (text, sum string) {
	t.Helper()
	i := strings.LastIndexByte(l, ':')
	if i < 0 || len(l)-i-1 != checksumChars {
		t.Fatalf("line %.40q... has no checksum field", l)
	}
	return l[:i], l[i+1:]
}

func TestParseRecipientLineRejects(t *testing.T) {
	x := testIdentity(t, "alice", KindX25519).Recipient()
	h := testIdentity(t, "alice", KindHybrid).Recipient()
	r := testIdentity(t, "alice", KindRSA2048).Recipient()
	xEx, xSig := x.exchange.Bytes(), x.signing.Bytes()
	rEx, rSig := r.exchange.Bytes(), r.signing.Bytes()
	good := x.String()
	text, sum := splitLine(t, good)
	_, b64, _ := strings.Cut(strings.TrimPrefix(text, RecipientPrefix), ":")
	otherText, _ := splitLine(t, h.String())

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
	stdAlphabet := withChecksum(RecipientPrefix + KindX25519 + ":" + strings.Map(func(r rune) rune {
		switch r {
		case '-':
			return '+'
		case '_':
			return '/'
		}
		return r
	}, b64))
	if stdAlphabet == good {
		stdAlphabet = withChecksum(text + "+/")
	}

	tests := []struct {
		name string
		line string
		want string
	}{
		{"empty", "", "malformed recipient line"},
		{"no prefix", strings.TrimPrefix(good, RecipientPrefix), "malformed recipient line"},
		{"upper-case prefix", "KEYBLOB:" + strings.TrimPrefix(good, RecipientPrefix), "malformed recipient line"},
		{"prefix only", RecipientPrefix, "malformed recipient line"},
		{"no checksum", text, "malformed recipient line: it has no checksum"},
		{"no checksum, short body", RecipientPrefix + "x25519:AAAA", "malformed recipient line: it has no checksum"},
		{"no kind", withChecksum(RecipientPrefix + b64), "malformed recipient line"},
		{"wrong kind label", withChecksum(strings.Replace(text, ":x25519:", ":hybrid:", 1)), `says kind "hybrid" but holds "x25519"`},
		{"empty kind label", withChecksum(strings.Replace(text, ":x25519:", "::", 1)), `says kind ""`},
		{"padded base64", withChecksum(text + "="), "malformed recipient line"},
		{"standard base64 alphabet", stdAlphabet, "malformed recipient line"},
		{"non-zero trailing bits", withChecksum(text[:len(text)-1] + nextChar(text[len(text)-1])), "malformed recipient line"},
		{"embedded newline", withChecksum(text[:30] + "\n" + text[30:]), "malformed recipient line"},
		{"embedded carriage return", withChecksum(text[:30] + "\r" + text[30:]), "malformed recipient line"},
		{"colon in the body", withChecksum(text[:30] + ":" + text[30:]), "malformed recipient line"},
		{"trailing space", good + " ", ErrRecipientChecksum.Error()},
		{"checksum of another line", text + ":" + lineChecksum(otherText), ErrRecipientChecksum.Error()},
		{"checksum of the body only", text + ":" + lineChecksum(b64), ErrRecipientChecksum.Error()},
		{"checksum with non-zero unused bits", text + ":" + sum[:checksumChars-1] + nextChar(sum[checksumChars-1]), ErrRecipientChecksum.Error()},
		{"checksum padded", good + "=", ErrRecipientChecksum.Error()},
		{"checksum upper-cased", text + ":" + strings.ToUpper(sum), ErrRecipientChecksum.Error()},
		{"checksum twice", good + ":" + sum, ErrRecipientChecksum.Error()},
		{"empty checksum", text + ":", ErrRecipientChecksum.Error()},
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
			if typo := tt.want == ErrRecipientChecksum.Error(); errors.Is(err, ErrRecipientChecksum) != typo || typo && errors.Is(err, ErrMalformed) {
				t.Errorf("error %q: errors.Is(ErrRecipientChecksum) = %v, want %v", err, !typo, typo)
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

// typoRecipients returns a recipient of every kind a line can hold: the
// full kinds keyblob generates (rsa-2048 standing for every RSA size) and
// the single-role kinds of keys read from files.
func typoRecipients(t *testing.T) map[string]*Recipient {
	rs := map[string]*Recipient{}
	for _, kind := range blobKinds {
		r := testIdentity(t, "alice", kind).Recipient()
		rs[kind] = r
		ex, err := newRecipient(r.exchange, nil)
		if err != nil {
			t.Fatal(err)
		}
		rs[ex.Kind()] = ex
		rs[r.signingOnly().Kind()] = r.signingOnly()
	}
	return rs
}

// checkTypo checks that a changed line is refused: as a typo when the
// change is after the prefix, as malformed when it breaks the prefix.
func checkTypo(t *testing.T, what, changed string, typoCertain bool) {
	t.Helper()
	r, err := ParseRecipientLine(changed)
	switch {
	case err == nil:
		t.Fatalf("%s: accepted as %.60s", what, r)
	case !strings.HasPrefix(changed, RecipientPrefix):
		if !errors.Is(err, ErrMalformedRecipient) {
			t.Fatalf("%s: %v, want ErrMalformedRecipient", what, err)
		}
	case typoCertain && !errors.Is(err, ErrRecipientChecksum):
		t.Fatalf("%s: %v, want ErrRecipientChecksum", what, err)
	}
}

// printable is every printable ASCII character, the alphabet a
// substitution is drawn from.
func printable() []byte {
	var cs []byte
	for c := byte(0x21); c < 0x7f; c++ {
		cs = append(cs, c)
	}
	return cs
}

// TestRecipientLineSubstitutions changes every character of a line of each
// kind to every other printable character: every such line is refused,
// and as a typo wherever the prefix is intact (the CRC-64 detects every
// change within 64 bits with certainty).
func TestRecipientLineSubstitutions(t *testing.T) {
	for kind, r := range typoRecipients(t) {
		t.Run(kind, func(t *testing.T) {
			good := []byte(r.String())
			for i := range good {
				for _, c := range printable() {
					if c == good[i] {
						continue
					}
					changed := bytes.Clone(good)
					changed[i] = c
					checkTypo(t, fmt.Sprintf("%q at %d", c, i), string(changed), true)
				}
			}
		})
	}
}

// TestRecipientLineEdits swaps, drops and adds characters: every such line
// is refused; a swap after the prefix is detected with certainty, like a
// substitution, as a typo; a drop or an addition changes the length, and
// is caught with overwhelming probability, as a typo or, when it takes
// the last ':' away, as a line without a checksum.
func TestRecipientLineEdits(t *testing.T) {
	for kind, r := range typoRecipients(t) {
		t.Run(kind, func(t *testing.T) {
			good := r.String()
			for i := range len(good) {
				if i+1 < len(good) && good[i] != good[i+1] {
					swapped := []byte(good)
					swapped[i], swapped[i+1] = swapped[i+1], swapped[i]
					checkTypo(t, fmt.Sprintf("swap at %d", i), string(swapped), true)
				}
				checkTypo(t, fmt.Sprintf("drop at %d", i), good[:i]+good[i+1:], good[i] != ':')
				for _, c := range "Az0-_:=" {
					checkTypo(t, fmt.Sprintf("add %q at %d", c, i), good[:i]+string(c)+good[i:], true)
				}
			}
			for _, c := range "Az0-_:= " {
				checkTypo(t, fmt.Sprintf("add %q at the end", c), good+string(c), true)
			}
		})
	}
}

// TestRecipientLineSeparatorTypos: a line whose last ':' was dropped or
// replaced is a typo, not a line without a checksum.
func TestRecipientLineSeparatorTypos(t *testing.T) {
	good := testIdentity(t, "alice", KindX25519).Recipient().String()
	i := strings.LastIndexByte(good, ':')
	for _, changed := range []string{good[:i] + good[i+1:], good[:i] + "A" + good[i+1:], good[:i] + ";" + good[i+1:]} {
		if _, err := ParseRecipientLine(changed); !errors.Is(err, ErrRecipientChecksum) {
			t.Errorf("%q: %v, want ErrRecipientChecksum", changed[i-5:], err)
		}
	}
}

// TestLineChecksumIsCRC64XZ pins the checksum to CRC-64/XZ as spec/blob.md
// section 6.2 names it: its check value over "123456789".
func TestLineChecksumIsCRC64XZ(t *testing.T) {
	want := base64.RawURLEncoding.EncodeToString([]byte{0x99, 0x5d, 0xc9, 0xbb, 0xdf, 0x19, 0x39, 0xfa})
	if got := lineChecksum("123456789"); got != want {
		t.Errorf("lineChecksum(\"123456789\") = %s, want %s (CRC-64/XZ 0x995dc9bbdf1939fa)", got, want)
	}
	if len(want) != checksumChars {
		t.Errorf("a checksum is %d characters, want %d", len(want), checksumChars)
	}
}

// TestRecipientsFileBounds checks that a recipients file is bounded by its
// number of recipients, not by a byte count that stops short of it: the
// most recipients of the largest kind fit, one more is refused by count,
// and an overlong line is refused before it is parsed.
func TestRecipientsFileBounds(t *testing.T) {
	id, err := GenerateIdentity(KindHybrid)
	if err != nil {
		t.Fatal(err)
	}
	line := id.Recipient().String() + "\n"
	full := strings.Repeat("# a comment\n"+line, MaxRecipients)
	rs, err := ParseRecipients([]byte(full))
	if err != nil || len(rs) != MaxRecipients {
		t.Fatalf("%d hybrid recipients: %d, %v", MaxRecipients, len(rs), err)
	}
	if _, err := ParseRecipients([]byte(full + line)); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%d recipients, at most %d", MaxRecipients+1, MaxRecipients)) {
		t.Errorf("one recipient too many: %v", err)
	}
	long := "# " + strings.Repeat("x", maxRecipientLine) + "\n" + line
	if _, err := ParseRecipients([]byte(long)); err == nil || !strings.Contains(err.Error(), "line 1: over") {
		t.Errorf("overlong line: %v", err)
	}
	if _, err := ParseRecipients(make([]byte, MaxRecipientsFileSize+1)); err == nil {
		t.Error("a file over MaxRecipientsFileSize was parsed")
	}
}
