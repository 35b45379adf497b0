package keystore

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyblob/keyblob"
)

// testCA makes a self-signed CA certificate named cn.
func testCA(t testing.TB, cn string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// caLine is the "ca" line of c.
func caLine(c *x509.Certificate) string {
	return "ca " + base64.StdEncoding.EncodeToString(c.Raw) + "\n"
}

// TestAuthorityTransportRoundTrip stores an http:// authority marked
// insecure-http and an https:// one with two CAs, and reads both back:
// the same marks, the same certificates in the same order, and files
// of exactly the lines spec/keystore.md section 5.1 gives.
func TestAuthorityTransportRoundTrip(t *testing.T) {
	s := newStore(t)
	r := authorityRecipient(t)
	ca1, ca2 := testCA(t, "one"), testCA(t, "two")
	if err := s.AddAuthority("plain", "http://192.0.2.1:8080", r, &AuthorityOptions{InsecureHTTP: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddAuthority("private", "https://escrow.example", r, &AuthorityOptions{CAs: []*x509.Certificate{ca2, ca1}}); err != nil {
		t.Fatal(err)
	}
	plain, err := s.Authority("plain")
	if err != nil || !plain.InsecureHTTP || len(plain.CAs) != 0 {
		t.Fatalf("plain: %+v, %v", plain, err)
	}
	private, err := s.Authority("private")
	if err != nil || private.InsecureHTTP || len(private.CAs) != 2 ||
		!bytes.Equal(private.CAs[0].Raw, ca2.Raw) || !bytes.Equal(private.CAs[1].Raw, ca1.Raw) {
		t.Fatalf("private: %+v, %v", private, err)
	}
	for name, want := range map[string]string{
		"plain":   "http://192.0.2.1:8080\n" + r.String() + "\ninsecure-http\n",
		"private": "https://escrow.example\n" + r.String() + "\n" + caLine(ca2) + caLine(ca1),
	} {
		got, err := os.ReadFile(filepath.Join(s.Dir(), authoritiesDir, name+authorityExt))
		if err != nil || string(got) != want {
			t.Errorf("%s: file %q (%v), want %q", name, got, err, want)
		}
	}
	// Replacing without the options drops them.
	if err := s.AddAuthority("private", "https://escrow.example", r, &AuthorityOptions{Replace: true}); err != nil {
		t.Fatal(err)
	}
	if a, err := s.Authority("private"); err != nil || len(a.CAs) != 0 {
		t.Errorf("replaced without CAs: %+v, %v", a, err)
	}
}

// TestAuthorityTransportRefused checks the options AddAuthority refuses,
// storing nothing.
func TestAuthorityTransportRefused(t *testing.T) {
	s := newStore(t)
	r := authorityRecipient(t)
	ca := testCA(t, "ca")
	tooMany := make([]*x509.Certificate, MaxAuthorityCAs+1)
	for i := range tooMany {
		tooMany[i] = testCA(t, "many")
	}
	for _, tc := range []struct {
		name, url string
		opts      AuthorityOptions
	}{
		{"insecure https", "https://h", AuthorityOptions{InsecureHTTP: true}},
		{"CA over http", "http://127.0.0.1:1", AuthorityOptions{CAs: []*x509.Certificate{ca}}},
		{"both", "http://h", AuthorityOptions{InsecureHTTP: true, CAs: []*x509.Certificate{ca}}},
		{"too many", "https://h", AuthorityOptions{CAs: tooMany}},
		{"twice", "https://h", AuthorityOptions{CAs: []*x509.Certificate{ca, ca}}},
		{"nil", "https://h", AuthorityOptions{CAs: []*x509.Certificate{nil}}},
		{"no raw", "https://h", AuthorityOptions{CAs: []*x509.Certificate{{}}}},
		{"raw not DER", "https://h", AuthorityOptions{CAs: []*x509.Certificate{{Raw: []byte{0x30, 0}}}}},
		{"raw too long", "https://h", AuthorityOptions{CAs: []*x509.Certificate{{Raw: make([]byte, MaxAuthorityCA+1)}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.AddAuthority("a", tc.url, r, &tc.opts); !errors.Is(err, keyblob.ErrMalformed) {
				t.Errorf("AddAuthority = %v, want ErrMalformed", err)
			}
			if _, err := s.Authority("a"); !errors.Is(err, ErrNotFound) {
				t.Errorf("a refused authority was stored: %v", err)
			}
		})
	}
}

// TestAuthorityTransportMalformed checks that the decoder reads the
// optional lines in their one order and form only.
func TestAuthorityTransportMalformed(t *testing.T) {
	r := authorityRecipient(t)
	rec := r.String() + "\n"
	ca1, ca2 := testCA(t, "one"), testCA(t, "two")
	b64 := base64.StdEncoding.EncodeToString(ca1.Raw)
	plain := "http://192.0.2.1\n" + rec
	private := "https://h\n" + rec
	for _, good := range []string{plain, plain + "insecure-http\n", private + caLine(ca1), private + caLine(ca1) + caLine(ca2)} {
		a, err := decodeAuthority("a", good)
		if err != nil {
			t.Fatalf("decodeAuthority(%q): %v", good, err)
		}
		if again := encodeAuthority(a); again != good {
			t.Errorf("decoded %q, encodes as %q", good, again)
		}
	}
	var many strings.Builder
	for range MaxAuthorityCAs + 1 {
		many.WriteString(caLine(testCA(t, "many")))
	}
	withTrailer := append(append([]byte(nil), ca1.Raw...), 0)
	for _, tc := range []struct{ name, data string }{
		{"insecure twice", plain + "insecure-http\ninsecure-http\n"},
		{"insecure on https", private + "insecure-http\n"},
		{"insecure after ca", private + caLine(ca1) + "insecure-http\n"},
		{"ca on http", plain + caLine(ca1)},
		{"ca after insecure", plain + "insecure-http\n" + caLine(ca1)},
		{"same ca twice", private + caLine(ca1) + caLine(ca1)},
		{"unknown line", private + "pin sha256:x\n"},
		{"upper case", plain + "INSECURE-HTTP\n"},
		{"trailing space", plain + "insecure-http \n"},
		{"empty line", private + "\n" + caLine(ca1)},
		{"empty last line", private + caLine(ca1) + "\n"},
		{"no final line feed", private + strings.TrimSuffix(caLine(ca1), "\n")},
		{"crlf", private + strings.TrimSuffix(caLine(ca1), "\n") + "\r\n"},
		{"ca without value", private + "ca \n"},
		{"ca without space", private + "ca" + b64 + "\n"},
		{"two spaces", private + "ca  " + b64 + "\n"},
		{"unpadded", private + "ca " + strings.TrimRight(b64, "=") + "\n"},
		{"line break inside", private + "ca " + b64[:8] + "\r" + b64[8:] + "\n"},
		{"url alphabet", private + "ca " + base64.URLEncoding.EncodeToString(ca1.Raw) + "\n"},
		{"padding bits", private + "ca AB==\n"},
		{"not DER", private + "ca MAA=\n"},
		{"trailing DER", private + "ca " + base64.StdEncoding.EncodeToString(withTrailer) + "\n"},
		{"too long", private + "ca " + strings.Repeat("A", base64.StdEncoding.EncodedLen(MaxAuthorityCA)+4) + "\n"},
		{"too many", private + many.String()},
	} {
		if tc.name == "url alphabet" && !strings.ContainsAny(b64, "+/") {
			continue // the two alphabets agree on this certificate
		}
		if tc.name == "unpadded" && !strings.HasSuffix(b64, "=") {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decodeAuthority("a", tc.data); !errors.Is(err, keyblob.ErrMalformed) {
				t.Errorf("decodeAuthority = %v, want ErrMalformed", err)
			}
		})
	}
}
