package cert

// TestGenerateVectors (go test ./cert -run TestGenerateVectors -update)
// writes testdata/cert: certificates, a CRL, and cases.txt, which says
// what Verify must answer for each. The format (spec/cert.md section 8):
//
//	# comment
//	CASE key=value ...
//
// with the keys chain (files, leaf first, comma-separated), roots
// (files), crl (a file or -), time (RFC 3339), usage (server, client,
// person), name (a name or * for any), want (ok or the error class:
// expired, not-yet-valid, wrong-name, unknown-authority, not-ca, usage,
// revoked, crl, extension, key-mismatch, malformed) and, for ok, recipient
// (the certified recipient line).

import (
	"bytes"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "regenerate testdata/cert (with -run TestGenerateVectors)")

const vectorDir = "../testdata/cert"

// wantNames are the error classes of cases.txt.
var wantNames = map[string]error{
	"expired": ErrExpired, "not-yet-valid": ErrNotYetValid, "wrong-name": ErrWrongName,
	"unknown-authority": ErrUnknownAuthority, "not-ca": ErrNotCA, "usage": ErrUsage, "revoked": ErrRevoked,
	"crl": ErrCRL, "extension": ErrExtension, "key-mismatch": ErrKeyMismatch, "malformed": ErrMalformed,
}

var usageNames = map[string]Usage{"server": Server, "client": Client, "person": Person}

func TestGenerateVectors(t *testing.T) {
	if !*update {
		t.Skip("run with -update to regenerate testdata/cert")
	}
	old, _ := filepath.Glob(filepath.Join(vectorDir, "*"))
	for _, f := range old {
		os.Remove(f)
	}
	if err := os.MkdirAll(vectorDir, 0o755); err != nil {
		t.Fatal(err)
	}
	g := &generator{t: t}
	caEd := newTestCA(t, "vector-ca", "Example Ed25519 CA")
	caRSA := newTestCA(t, "rsa", "Example RSA CA")
	other := newTestCA(t, "vector-other", "Example Ed25519 CA")
	g.write("ca-ed25519.pem", caEd.cert.Raw)
	g.write("ca-rsa.pem", caRSA.cert.Raw)
	g.write("ca-other.pem", other.cert.Raw)

	server := caEd.issue(t, testID(t, "hybrid-vector-server"), Names{DNS: []string{"db.example.com"}}, 24*time.Hour)
	g.write("server-hybrid.pem", server.Raw)
	person := caRSA.issue(t, testID(t, "vector-alice"), Names{Email: []string{"alice@example.com"}}, 24*time.Hour)
	g.write("person-x25519.pem", person.Raw)
	revokedLeaf := caEd.issue(t, testID(t, "vector-revoked"), Names{DNS: []string{"old.example.com"}}, 24*time.Hour)
	g.write("revoked.pem", revokedLeaf.Raw)
	crl, err := CreateCRL(caEd.cert, caEd.id, []Revoked{{Serial: revokedLeaf.SerialNumber, At: testNow}}, testNow, testNow.Add(48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	g.writeAs("crl-ed25519.pem", PEMCRL, crl)
	g.write("key-mismatch.pem", forge(t, leafTemplate(t, "db.example.com", testID(t, "vector-alice").Recipient()), testID(t, "hybrid-vector-server"), caEd.cert, caEd.id).Raw)
	g.write("no-extension.pem", forge(t, leafTemplate(t, "db.example.com", nil), testID(t, "hybrid-vector-server"), caEd.cert, caEd.id).Raw)

	at, after, before := stamp(testNow), stamp(testNow.Add(25*time.Hour)), stamp(testNow.Add(-2*time.Minute))
	serverLine, personLine := testID(t, "hybrid-vector-server").Recipient().String(), testID(t, "vector-alice").Recipient().String()
	g.cases = []string{
		"# keyblob certificate vectors (spec/cert.md section 8); made by go test ./cert -run TestGenerateVectors -update",
		"CASE chain=server-hybrid.pem roots=ca-ed25519.pem crl=- time=" + at + " usage=server name=db.example.com want=ok recipient=" + serverLine,
		"CASE chain=server-hybrid.pem roots=ca-ed25519.pem crl=crl-ed25519.pem time=" + at + " usage=client name=DB.example.com want=ok recipient=" + serverLine,
		"CASE chain=person-x25519.pem roots=ca-rsa.pem,ca-ed25519.pem crl=- time=" + at + " usage=person name=alice@example.com want=ok recipient=" + personLine,
		"CASE chain=server-hybrid.pem roots=ca-ed25519.pem crl=- time=" + at + " usage=server name=www.example.com want=wrong-name",
		"CASE chain=server-hybrid.pem roots=ca-ed25519.pem crl=- time=" + after + " usage=server name=db.example.com want=expired",
		"CASE chain=server-hybrid.pem roots=ca-ed25519.pem crl=- time=" + before + " usage=server name=db.example.com want=not-yet-valid",
		"CASE chain=server-hybrid.pem roots=ca-other.pem crl=- time=" + at + " usage=server name=db.example.com want=unknown-authority",
		"CASE chain=server-hybrid.pem roots=ca-ed25519.pem crl=- time=" + at + " usage=person name=* want=usage",
		"CASE chain=person-x25519.pem roots=ca-rsa.pem crl=- time=" + at + " usage=server name=* want=usage",
		"CASE chain=revoked.pem roots=ca-ed25519.pem crl=crl-ed25519.pem time=" + at + " usage=server name=old.example.com want=revoked",
		"CASE chain=revoked.pem roots=ca-ed25519.pem crl=crl-ed25519.pem time=" + stamp(testNow.Add(49*time.Hour)) + " usage=server name=old.example.com want=expired",
		"CASE chain=server-hybrid.pem roots=ca-ed25519.pem crl=crl-ed25519.pem time=" + stamp(testNow.Add(23*time.Hour)) + " usage=server name=db.example.com want=ok recipient=" + serverLine,
		"CASE chain=key-mismatch.pem roots=ca-ed25519.pem crl=- time=" + at + " usage=server name=db.example.com want=key-mismatch",
		"CASE chain=no-extension.pem roots=ca-ed25519.pem crl=- time=" + at + " usage=server name=db.example.com want=extension",
	}
	g.write("cases.txt", nil)
}

type generator struct {
	t     *testing.T
	cases []string
}

func (g *generator) write(name string, der []byte) { g.writeAs(name, PEMCertificate, der) }

func (g *generator) writeAs(name, label string, der []byte) {
	data := EncodePEM(label, der)
	if name == "cases.txt" {
		data = []byte(strings.Join(g.cases, "\n") + "\n")
	}
	if err := os.WriteFile(filepath.Join(vectorDir, name), data, 0o644); err != nil {
		g.t.Fatal(err)
	}
}

// vectorCase is one CASE line of cases.txt.
type vectorCase struct {
	line       int
	fields     map[string]string
	chain      []*x509.Certificate
	chainFiles []string
	opts       VerifyOptions
}

func loadVectors(tb testing.TB) []vectorCase {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(vectorDir, "cases.txt"))
	if err != nil {
		tb.Fatalf("%v; regenerate with -update", err)
	}
	var out []vectorCase
	for i, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		c := vectorCase{line: i + 1, fields: map[string]string{}}
		words := strings.Fields(line)
		if len(words) == 0 || words[0] != "CASE" {
			tb.Fatalf("cases.txt:%d: not a CASE line", i+1)
		}
		for _, w := range words[1:] {
			k, v, _ := strings.Cut(w, "=")
			c.fields[k] = v
		}
		c.chainFiles = strings.Split(c.fields["chain"], ",")
		c.chain = readVectorCerts(tb, c.chainFiles)
		c.opts.Roots = readVectorCerts(tb, strings.Split(c.fields["roots"], ","))
		if f := c.fields["crl"]; f != "-" {
			data, err := os.ReadFile(filepath.Join(vectorDir, f))
			if err != nil {
				tb.Fatal(err)
			}
			crl, err := ParseCRL(data)
			if err != nil {
				tb.Fatal(err)
			}
			c.opts.CRLs = []*x509.RevocationList{crl}
		}
		if c.opts.Time, err = time.Parse(time.RFC3339, c.fields["time"]); err != nil {
			tb.Fatal(err)
		}
		c.opts.Usage = usageNames[c.fields["usage"]]
		if c.fields["name"] == "*" {
			c.opts.AnyName = true
		} else {
			c.opts.Name = c.fields["name"]
		}
		out = append(out, c)
	}
	if len(out) < 10 {
		tb.Fatalf("%d cases in cases.txt; regenerate with -update", len(out))
	}
	return out
}

func readVectorCerts(tb testing.TB, files []string) []*x509.Certificate {
	var certs []*x509.Certificate
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(vectorDir, f))
		if err != nil {
			tb.Fatal(err)
		}
		c, err := ParseChain(data)
		if err != nil {
			tb.Fatalf("%s: %v", f, err)
		}
		certs = append(certs, c...)
	}
	return certs
}

// check verifies a case and compares the outcome with its want.
func (c vectorCase) check(chain []*x509.Certificate) error {
	v, err := Verify(chain, c.opts)
	want := c.fields["want"]
	if want == "ok" {
		if err != nil {
			return err
		}
		if got := v.Recipient.String(); got != c.fields["recipient"] {
			return fmt.Errorf("recipient %s, want %s", got, c.fields["recipient"])
		}
		return nil
	}
	class, ok := wantNames[want]
	if !ok {
		return fmt.Errorf("unknown want %q", want)
	}
	if !errors.Is(err, class) {
		return fmt.Errorf("got %v, want %s", err, want)
	}
	return nil
}

func TestVectors(t *testing.T) {
	for _, c := range loadVectors(t) {
		if err := c.check(c.chain); err != nil {
			t.Errorf("cases.txt:%d: %v", c.line, err)
		}
	}
}

// TestVectorsTampered flips one bit in each byte of every accepted leaf
// (a different bit each byte), and cuts it at every length: each result
// must fail to parse or to verify.
func TestVectorsTampered(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range loadVectors(t) {
		if c.fields["want"] != "ok" || seen[c.chainFiles[0]] {
			continue
		}
		seen[c.chainFiles[0]] = true
		der := c.chain[0].Raw
		for i := range der {
			flipped := bytes.Clone(der)
			flipped[i] ^= 1 << (i % 8)
			if certs, err := ParseChain(flipped); err == nil {
				if c.check(append(certs, c.chain[1:]...)) == nil {
					t.Errorf("%s: bit %d of byte %d flipped, still verifies", c.chainFiles[0], i%8, i)
				}
			}
		}
		for n := range len(der) {
			if _, err := ParseChain(der[:n]); err == nil {
				t.Errorf("%s: its first %d bytes parse", c.chainFiles[0], n)
			}
		}
	}
	if len(seen) == 0 {
		t.Fatal("no accepted leaf in cases.txt")
	}
}
