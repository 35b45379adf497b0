package keyblob

// Recipient line vectors (spec/blob.md section 12): testdata/recipient,
// written by TestGenerateVectors with the other vectors and checked by
// TestVectors. Each file has the headers
//
//	expect: success | checksum mismatch | malformed
//	kind: KIND                      on success
//	exchange fingerprint: FP|none   on success
//	signing fingerprint: FP|none    on success
//	comment: TEXT
//
// and the body: the line, then one line feed.

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

const (
	recipientDir        = "testdata/recipient"
	minRecipientVectors = 30
)

// recipientErrorClass is the class of spec/blob.md section 10 of a
// recipient line error.
func recipientErrorClass(err error) string {
	switch {
	case err == nil:
		return "success"
	case errors.Is(err, ErrRecipientChecksum):
		return "checksum mismatch"
	case errors.Is(err, ErrMalformedRecipient):
		return "malformed"
	}
	return "unexpected error: " + err.Error()
}

func checkRecipientVector(t *testing.T, v *vector) {
	body, ok := bytes.CutSuffix(v.body, []byte("\n"))
	if !ok {
		t.Fatalf("the body does not end in a line feed")
	}
	r, err := ParseRecipientLine(string(body))
	if got, want := recipientErrorClass(err), v.header(t, "expect"); got != want {
		t.Fatalf("got %s (%v), want %s", got, err, want)
	}
	if err != nil {
		return
	}
	if r.String() != string(body) {
		t.Errorf("String does not reproduce the line")
	}
	got := map[string]string{
		"kind":                 r.Kind(),
		"exchange fingerprint": fingerprintOrNone(r.ExchangeFingerprint()),
		"signing fingerprint":  fingerprintOrNone(r.SigningFingerprint()),
	}
	for name, value := range got {
		if want := v.header(t, name); value != want {
			t.Errorf("%s %s, want %s", name, value, want)
		}
	}
}

func fingerprintOrNone(fp Fingerprint) string {
	if fp.IsZero() {
		return "none"
	}
	return fp.String()
}

// recipientVector is one recipient line vector to write.
type recipientVector struct {
	name, expect, comment, line string
	r                           *Recipient // on success
}

func (g *generator) writeRecipient(v recipientVector) {
	if strings.Contains(v.line, "\n") {
		g.t.Fatalf("%s: a line feed in the line", v.name)
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "expect: %s\n", v.expect)
	if v.expect == "success" {
		fmt.Fprintf(&buf, "kind: %s\n", v.r.Kind())
		fmt.Fprintf(&buf, "exchange fingerprint: %s\n", fingerprintOrNone(v.r.ExchangeFingerprint()))
		fmt.Fprintf(&buf, "signing fingerprint: %s\n", fingerprintOrNone(v.r.SigningFingerprint()))
	}
	fmt.Fprintf(&buf, "comment: %s\n\n%s\n", v.comment, v.line)
	g.write(filepath.Join(recipientDir, v.name+".txt"), buf.Bytes())
	g.nRecipient++
}

// recipients writes the recipient line vectors, from the keys of
// testdata/keys.
func (g *generator) recipients() {
	g.recipientKinds()
	g.recipientTypos()
	g.recipientMalformed()
}

// recipientKinds writes a valid line of every kind a line can hold.
func (g *generator) recipientKinds() {
	for _, kind := range vectorKinds {
		r := g.id("alice-" + kind).Recipient()
		ex, err := newRecipient(r.exchange, nil)
		if err != nil {
			g.t.Fatal(err)
		}
		for _, r := range []*Recipient{r, ex, r.signingOnly()} {
			if r.Kind() == "ed25519-signing" && kind != KindX25519 {
				continue // one Ed25519 vector is enough
			}
			g.writeRecipient(recipientVector{name: "kind-" + r.Kind(), expect: "success", r: r, line: r.String(),
				comment: fmt.Sprintf("alice's %s keys as a recipient of kind %s", kind, r.Kind())})
		}
	}
	one := g.oneKeyRSA()
	g.writeRecipient(recipientVector{name: "kind-rsa-2048-one-key", expect: "success", r: one, line: one.String(),
		comment: "one RSA key in both roles (section 7.3): its encoding appears twice"})
}

// oneKeyRSA returns alice's RSA exchange key as a recipient that uses it in
// both roles, as a PEM file of one RSA key reads.
func (g *generator) oneKeyRSA() *Recipient {
	pemFile, err := g.id("alice-rsa-2048").Recipient().MarshalPEM()
	if err != nil {
		g.t.Fatal(err)
	}
	first, _, _ := bytes.Cut(pemFile, []byte("-----END PUBLIC KEY-----\n"))
	r, err := ParseRecipient(append(first, "-----END PUBLIC KEY-----\n"...))
	if err != nil || !r.sameRSAKey() {
		g.t.Fatalf("one RSA key in both roles: %v", err)
	}
	return r
}

// recipientTypos writes the typos a user makes in a valid line: each is a
// checksum mismatch.
func (g *generator) recipientTypos() {
	good := g.id("alice-x25519").Recipient().String()
	hybrid := g.id("alice-hybrid").Recipient().String()
	text := good[:strings.LastIndexByte(good, ':')]
	body := len(RecipientPrefix + KindX25519 + ":")
	sep := len(text)
	letter := body + strings.IndexFunc(good[body:], func(r rune) bool { return 'a' <= r && r <= 'z' })
	typos := []struct{ name, comment, line string }{
		{"substituted-body", "one character of the base64 body changed", replaceAt(good, body+20, nextChar(good[body+20]))},
		{"substituted-last-body", "the last character of the body changed", replaceAt(good, sep-1, nextChar(good[sep-1]))},
		{"substituted-kind", "one character of the kind changed (x25519 to x35519)", strings.Replace(good, ":x25519:", ":x35519:", 1)},
		{"substituted-checksum", "one character of the checksum changed", replaceAt(good, len(good)-3, nextChar(good[len(good)-3]))},
		{"case-changed", "one letter of the body in the other case", replaceAt(good, letter, strings.ToUpper(good[letter:letter+1]))},
		{"swapped", "two adjacent characters of the body swapped", swapAt(good, body+10)},
		{"swapped-separator", "the last character of the body swapped with the ':' after it", swapAt(good, sep-1)},
		{"dropped", "one character of the body dropped", good[:body+30] + good[body+31:]},
		{"dropped-separator", "the ':' before the checksum dropped", good[:sep] + good[sep+1:]},
		{"replaced-separator", "the ':' before the checksum replaced by '-'", replaceAt(good, sep, "-")},
		{"added", "one character added in the body", good[:body+30] + "Q" + good[body+30:]},
		{"added-colon", "a ':' added in the body", good[:body+30] + ":" + good[body+30:]},
		{"trailing-space", "a space after the checksum", good + " "},
		{"hybrid-substituted", "one character in the middle of a hybrid line (1,700 characters) changed", replaceAt(hybrid, len(hybrid)/2, nextChar(hybrid[len(hybrid)/2]))},
		{"other-checksum", "the body of alice's x25519 line with the checksum of her hybrid line", text + hybrid[strings.LastIndexByte(hybrid, ':'):]},
		{"checksum-unused-bits", "the checksum with its last character's two unused bits set: only one encoding is accepted", replaceAt(good, len(good)-1, nextChar(good[len(good)-1]))},
	}
	for _, ty := range typos {
		if ty.line == good {
			g.t.Fatalf("typo-%s does not change the line", ty.name)
		}
		g.writeRecipient(recipientVector{name: "typo-" + ty.name, expect: "checksum mismatch", comment: ty.comment, line: ty.line})
	}
}

// recipientMalformed writes lines that are not canonical: most with a
// correct checksum, so that only the decoding rules can refuse them.
func (g *generator) recipientMalformed() {
	x := g.id("alice-x25519").Recipient()
	xEx, xSig := x.exchange.Bytes(), x.signing.Bytes()
	good := x.String()
	text := good[:strings.LastIndexByte(good, ':')]
	b64 := strings.TrimPrefix(text, RecipientPrefix+KindX25519+":")
	raw := rawRecipient(2, xEx, 1, xSig)
	bad := []struct{ name, comment, line string }{
		{"no-checksum", "a line of the form keyblob:KIND:BODY, without a checksum", text},
		{"upper-case-prefix", "KEYBLOB: for keyblob:", "KEYBLOB:" + strings.TrimPrefix(good, RecipientPrefix)},
		{"no-prefix", "the line without keyblob:", strings.TrimPrefix(good, RecipientPrefix)},
		{"no-kind", "keyblob:BODY:CHECKSUM", withChecksum(RecipientPrefix + b64)},
		{"wrong-kind", "the kind says hybrid, the keys are x25519", withChecksum(strings.Replace(text, ":x25519:", ":hybrid:", 1))},
		{"padded", "base64 padding after the body", withChecksum(text + "=")},
		{"trailing-bits", "non-zero unused bits in the last body character", withChecksum(text[:len(text)-1] + nextChar(text[len(text)-1]))},
		{"standard-alphabet", "the body in the standard base64 alphabet", withChecksum(RecipientPrefix + KindX25519 + ":" + base64.RawStdEncoding.EncodeToString(raw))},
		{"trailing-byte", "a zero byte after the four fields", line(KindX25519, append(bytes.Clone(raw), 0))},
		{"truncated", "the body cut after 40 bytes", line(KindX25519, raw[:40])},
		{"unknown-exchange", "exchange algorithm 9", line(KindX25519, rawRecipient(9, xEx, 1, xSig))},
		{"short-key", "an X25519 key of 31 bytes", line(KindX25519, rawRecipient(2, xEx[:31], 1, xSig))},
		{"unknown-signature", "signature algorithm 7", line(KindX25519, rawRecipient(2, xEx, 7, xSig))},
		{"too-long", "a line of 8193 bytes", RecipientPrefix + "x25519:" + strings.Repeat("A", maxRecipientLine-len(RecipientPrefix+"x25519:")+1)},
	}
	for _, b := range bad {
		g.writeRecipient(recipientVector{name: "malformed-" + b.name, expect: "malformed", comment: b.comment, line: b.line})
	}
}

func replaceAt(s string, i int, c string) string { return s[:i] + c + s[i+1:] }

func swapAt(s string, i int) string { return s[:i] + s[i+1:i+2] + s[i:i+1] + s[i+2:] }
