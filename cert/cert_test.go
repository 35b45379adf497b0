package cert

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/keyblob/keyblob"
)

func TestRoundTrip(t *testing.T) {
	cases := []struct {
		caKind, leafKind string
		names            Names
		usage            Usage
		name             string
	}{
		{"ca", "hybrid", Names{DNS: []string{"db.example.com"}}, Server, "db.example.com"},
		{"ca", "x25519", Names{DNS: []string{"db.example.com", "*.db.example.com"}}, Client, "x.db.example.com"},
		{"ca", "x25519", Names{Email: []string{"alice@example.com"}}, Person, "alice@EXAMPLE.com"},
		{"ca", "x25519", Names{Email: []string{"alice@example.com"}}, Client, "alice@example.com"},
		{"rsa", "hybrid", Names{DNS: []string{"db.example.com"}}, Server, "db.example.com"},
		{"ca", "rsa", Names{DNS: []string{"db.example.com"}}, Server, "db.example.com"},
	}
	for _, c := range cases {
		t.Run(c.caKind+"/"+c.leafKind+"/"+c.name, func(t *testing.T) {
			ca := newTestCA(t, c.caKind, "Example CA")
			id := testID(t, c.leafKind)
			leaf := ca.issue(t, id, c.names, time.Hour)
			v, err := Verify([]*x509.Certificate{leaf}, VerifyOptions{Roots: []*x509.Certificate{ca.cert}, Name: c.name, Usage: c.usage, Time: testNow})
			if err != nil {
				t.Fatal(err)
			}
			if !v.Recipient.Equal(id.Recipient()) || v.Recipient.String() != id.Recipient().String() {
				t.Fatal("the verified recipient is not the identity's")
			}
			if !v.NotAfter.Equal(leaf.NotAfter) || v.Leaf != leaf || len(v.Chain) != 2 {
				t.Fatalf("Verified %+v", v)
			}
			if got := v.Names.all(); len(got) != len(c.names.all()) {
				t.Fatalf("names %v, want %v", got, c.names.all())
			}
		})
	}
}

// TestRefusals is the refusal list of spec/cert.md, one case each.
func TestRefusals(t *testing.T) {
	ca := newTestCA(t, "ca", "Example CA")
	other := newTestCA(t, "other-ca", "Example CA")
	id := testID(t, "x25519")
	server := ca.issue(t, id, Names{DNS: []string{"db.example.com"}}, time.Hour)
	person := ca.issue(t, id, Names{Email: []string{"alice@example.com"}}, time.Hour)
	roots := []*x509.Certificate{ca.cert}
	opts := VerifyOptions{Roots: roots, Name: "db.example.com", Usage: Server, Time: testNow}
	with := func(f func(*VerifyOptions)) VerifyOptions { o := opts; f(&o); return o }

	leafCA := forge(t, leafTemplate(t, "leaf.example.com", testID(t, "leaf").Recipient()), testID(t, "leaf"), ca.cert, ca.id)
	underLeaf := forge(t, leafTemplate(t, "db.example.com", id.Recipient()), id, leafCA, testID(t, "leaf"))

	inter := forge(t, &x509.Certificate{Subject: pkix.Name{CommonName: "Intermediate"}, BasicConstraintsValid: true, IsCA: true,
		KeyUsage: x509.KeyUsageCertSign}, testID(t, "inter"), ca.cert, ca.id)
	underInter := forge(t, leafTemplate(t, "db.example.com", id.Recipient()), id, inter, testID(t, "inter"))

	noEKU := leafTemplate(t, "db.example.com", id.Recipient())
	noEKU.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	clientOnly := forge(t, noEKU, id, ca.cert, ca.id)
	badKU := leafTemplate(t, "db.example.com", id.Recipient())
	badKU.KeyUsage = x509.KeyUsageKeyEncipherment
	keyEncipherment := forge(t, badKU, id, ca.cert, ca.id)

	longTmpl := leafTemplate(t, "db.example.com", id.Recipient())
	longTmpl.NotBefore, longTmpl.NotAfter = testNow, testNow.Add(3*365*24*time.Hour)
	outlivesCA := forge(t, longTmpl, id, ca.cert, ca.id)

	mismatch := forge(t, leafTemplate(t, "db.example.com", testID(t, "mallory").Recipient()), id, ca.cert, ca.id)
	missing := forge(t, leafTemplate(t, "db.example.com", nil), id, ca.cert, ca.id)
	critTmpl := leafTemplate(t, "db.example.com", id.Recipient())
	critTmpl.ExtraExtensions[0].Critical = true
	critical := forge(t, critTmpl, id, ca.cert, ca.id)
	trailTmpl := leafTemplate(t, "db.example.com", id.Recipient())
	trailTmpl.ExtraExtensions[0].Value = append(trailTmpl.ExtraExtensions[0].Value, 0)
	trailing := forge(t, trailTmpl, id, ca.cert, ca.id)

	crl := func(c testCA, serial *big.Int, next time.Time) *x509.RevocationList {
		der, err := CreateCRL(c.cert, c.id, []Revoked{{Serial: serial, At: testNow.Add(-time.Minute)}}, testNow, next)
		if err != nil {
			t.Fatal(err)
		}
		l, err := ParseCRL(der)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	revoking := crl(ca, server.SerialNumber, testNow.Add(24*time.Hour))
	staleCRL := crl(ca, big.NewInt(1), testNow.Add(time.Minute))
	forgedCRL := crl(other, server.SerialNumber, testNow.Add(24*time.Hour))

	cases := []struct {
		what  string
		chain []*x509.Certificate
		opts  VerifyOptions
		want  error
	}{
		{"wrong name", []*x509.Certificate{server}, with(func(o *VerifyOptions) { o.Name = "www.example.com" }), ErrWrongName},
		{"wrong address", []*x509.Certificate{person}, with(func(o *VerifyOptions) { o.Name = "bob@example.com"; o.Usage = Person }), ErrWrongName},
		{"address in other case", []*x509.Certificate{person}, with(func(o *VerifyOptions) { o.Name = "Alice@example.com"; o.Usage = Person }), ErrWrongName},
		{"server by address", []*x509.Certificate{person}, with(func(o *VerifyOptions) { o.Name = "alice@example.com" }), ErrWrongName},
		{"person by DNS name", []*x509.Certificate{person}, with(func(o *VerifyOptions) { o.Usage = Person }), ErrWrongName},
		{"expired", []*x509.Certificate{server}, with(func(o *VerifyOptions) { o.Time = testNow.Add(2 * time.Hour) }), ErrExpired},
		{"not yet valid", []*x509.Certificate{server}, with(func(o *VerifyOptions) { o.Time = testNow.Add(-2 * time.Minute) }), ErrNotYetValid},
		{"expired CA", []*x509.Certificate{outlivesCA}, with(func(o *VerifyOptions) { o.Time = testNow.Add(2 * 365 * 24 * time.Hour) }), ErrExpired},
		{"another CA", []*x509.Certificate{server}, with(func(o *VerifyOptions) { o.Roots = []*x509.Certificate{other.cert} }), ErrUnknownAuthority},
		{"no root", []*x509.Certificate{server}, with(func(o *VerifyOptions) { o.Roots = nil }), ErrUnknownAuthority},
		{"leaf used as a CA", []*x509.Certificate{underLeaf, leafCA}, opts, ErrNotCA},
		{"path length", []*x509.Certificate{underInter, inter}, opts, ErrNotCA},
		{"extended key usage", []*x509.Certificate{clientOnly}, opts, ErrUsage},
		{"person as a server", []*x509.Certificate{person}, with(func(o *VerifyOptions) { o.Name = ""; o.AnyName = true }), ErrUsage},
		{"server as a person", []*x509.Certificate{server}, with(func(o *VerifyOptions) { o.Name = ""; o.AnyName = true; o.Usage = Person }), ErrUsage},
		{"key usage", []*x509.Certificate{keyEncipherment}, opts, ErrUsage},
		{"revoked", []*x509.Certificate{server}, with(func(o *VerifyOptions) { o.CRLs = []*x509.RevocationList{revoking} }), ErrRevoked},
		{"expired CRL", []*x509.Certificate{server}, with(func(o *VerifyOptions) {
			o.CRLs = []*x509.RevocationList{staleCRL}
			o.Time = testNow.Add(30 * time.Minute)
		}), ErrCRL},
		{"CRL of a namesake", []*x509.Certificate{server}, with(func(o *VerifyOptions) { o.CRLs = []*x509.RevocationList{forgedCRL} }), ErrCRL},
		{"extension for another key", []*x509.Certificate{mismatch}, opts, ErrKeyMismatch},
		{"no extension", []*x509.Certificate{missing}, opts, ErrExtension},
		{"critical extension", []*x509.Certificate{critical}, opts, ErrExtension},
		{"extension with a trailing byte", []*x509.Certificate{trailing}, opts, ErrExtension},
	}
	for _, c := range cases {
		t.Run(c.what, func(t *testing.T) {
			v, err := Verify(c.chain, c.opts)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v (%v), want %v", err, v, c.want)
			}
			t.Log(err)
		})
	}
}

func TestErrorDetails(t *testing.T) {
	ca := newTestCA(t, "ca", "Example CA")
	leaf := ca.issue(t, testID(t, "x25519"), Names{DNS: []string{"db.example.com"}}, time.Hour)
	at := testNow.Add(2 * time.Hour)
	_, err := Verify([]*x509.Certificate{leaf}, VerifyOptions{Roots: []*x509.Certificate{ca.cert}, Name: "db.example.com", Usage: Server, Time: at})
	var ve *ValidityError
	if !errors.As(err, &ve) || !ve.NotAfter.Equal(leaf.NotAfter) || !ve.Time.Equal(at) {
		t.Fatalf("got %v, want a ValidityError with the leaf's NotAfter", err)
	}
	der, err := CreateCRL(ca.cert, ca.id, []Revoked{{Serial: leaf.SerialNumber, At: testNow.Add(-time.Hour)}}, testNow, testNow.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	crl, err := ParseCRL(EncodePEM(PEMCRL, der))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Verify([]*x509.Certificate{leaf}, VerifyOptions{Roots: []*x509.Certificate{ca.cert}, Name: "db.example.com", Usage: Server, Time: testNow, CRLs: []*x509.RevocationList{crl}})
	var re *RevokedError
	if !errors.As(err, &re) || !re.RevokedAt.Equal(testNow.Add(-time.Hour)) || re.Serial.Cmp(leaf.SerialNumber) != 0 {
		t.Fatalf("got %v, want a RevokedError with the revocation's date", err)
	}
}

func TestExtensionStrict(t *testing.T) {
	r := testID(t, "hybrid").Recipient()
	ext, err := MarshalExtension(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseExtension(ext.Value)
	if err != nil || got.String() != r.String() {
		t.Fatalf("round trip: %v", err)
	}
	line := []byte(r.String())
	der := func(prefix ...byte) []byte { return append(prefix, line...) }
	long := func(tag byte, body []byte) []byte { // a long-form length where the short one is due
		return append([]byte{tag, 0x82, byte(len(body) >> 8), byte(len(body))}, body...)
	}
	utf8 := long(0x0c, line)
	seq := func(body []byte) []byte { return long(0x30, body) }
	cases := map[string][]byte{
		"trailing byte":      append(bytes.Clone(ext.Value), 0),
		"version 2":          seq(append([]byte{0x02, 0x01, 0x02}, utf8...)),
		"version 0":          seq(append([]byte{0x02, 0x01, 0x00}, utf8...)),
		"non-minimal int":    seq(append([]byte{0x02, 0x02, 0x00, 0x01}, utf8...)),
		"IA5String":          seq(append([]byte{0x02, 0x01, 0x01}, long(0x16, line)...)),
		"no version":         seq(utf8),
		"empty":              {},
		"not a line":         seq(append([]byte{0x02, 0x01, 0x01}, long(0x0c, []byte("keyblob:x"))...)),
		"line with a typo":   seq(append([]byte{0x02, 0x01, 0x01}, long(0x0c, bytes.Replace(line, []byte("A"), []byte("B"), 1))...)),
		"extra field":        seq(append(append([]byte{0x02, 0x01, 0x01}, utf8...), 0x05, 0x00)),
		"indefinite length":  append(append([]byte{0x30, 0x80, 0x02, 0x01, 0x01}, utf8...), 0, 0),
		"over the bound":     make([]byte, MaxExtensionSize+1),
		"exchange-only line": seq(append([]byte{0x02, 0x01, 0x01}, long(0x0c, []byte(exchangeOnly(t)))...)),
	}
	_ = der
	for what, value := range cases {
		if _, err := ParseExtension(value); !errors.Is(err, ErrExtension) {
			t.Errorf("%s: got %v, want ErrExtension", what, err)
		}
	}
	// The long form above must itself be right: with minimal lengths the
	// same layout parses.
	if _, err := ParseExtension(ext.Value); err != nil {
		t.Fatal(err)
	}
}

// exchangeOnly returns the recipient line of an exchange-only recipient.
func exchangeOnly(t *testing.T) string {
	pemData, err := testID(t, "x25519").Recipient().MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	// The first block of a two-key file is the exchange key alone.
	end := bytes.Index(pemData, []byte("-----END PUBLIC KEY-----\n")) + len("-----END PUBLIC KEY-----\n")
	r, err := keyblob.ParseRecipient(pemData[:end])
	if err != nil {
		t.Fatal(err)
	}
	return r.String()
}

func TestDuplicateExtension(t *testing.T) {
	id := testID(t, "x25519")
	ext, err := MarshalExtension(id.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := recipientOf([]pkix.Extension{ext, ext}, id.Recipient().SigningPublicKey()); !errors.Is(err, ErrExtension) {
		t.Fatalf("got %v, want ErrExtension", err)
	}
	// crypto/x509 itself refuses a certificate with an extension twice.
	ca := newTestCA(t, "ca", "Example CA")
	tmpl := leafTemplate(t, "db.example.com", id.Recipient())
	tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, ext)
	s, _ := ca.id.CertificateSigner()
	tmpl.SerialNumber, tmpl.NotBefore, tmpl.NotAfter = big.NewInt(3), testNow, testNow.Add(time.Hour)
	der, err := x509.CreateCertificate(nil, tmpl, ca.cert, id.Recipient().SigningPublicKey(), s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseChain(der); !errors.Is(err, ErrMalformed) {
		t.Fatalf("ParseChain of a certificate with the extension twice: %v", err)
	}
}

func TestIssueRefuses(t *testing.T) {
	ca := newTestCA(t, "ca", "Example CA")
	id := testID(t, "x25519")
	csr, err := Request(id, Names{DNS: []string{"db.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	req, err := ParseRequest(csr)
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Clone(csr)
	tampered[len(tampered)-1] ^= 1 // in the signature
	if _, err := ParseRequest(tampered); !errors.Is(err, ErrMalformed) {
		t.Errorf("ParseRequest of a request with a bad signature: %v", err)
	}
	leaf := ca.issue(t, id, Names{DNS: []string{"db.example.com"}}, time.Hour)
	cases := []struct {
		what     string
		ca       *x509.Certificate
		caID     *keyblob.Identity
		validity time.Duration
	}{
		{"CA certificate of another key", ca.cert, id, time.Hour},
		{"leaf as CA", leaf, id, time.Hour},
		{"outliving the CA", ca.cert, ca.id, 2 * 365 * 24 * time.Hour},
		{"zero validity", ca.cert, ca.id, 0},
	}
	for _, c := range cases {
		if _, err := Issue(c.ca, c.caID, req, c.validity, testNow); err == nil {
			t.Errorf("%s: issued", c.what)
		}
	}
	// A request whose extension certifies another key: signed by id, but
	// carrying mallory's recipient.
	mallory := testID(t, "mallory")
	s, _ := id.CertificateSigner()
	ext, _ := MarshalExtension(mallory.Recipient())
	bad, err := x509.CreateCertificateRequest(nil, &x509.CertificateRequest{DNSNames: []string{"db.example.com"}, ExtraExtensions: []pkix.Extension{ext}}, s)
	if err != nil {
		t.Fatal(err)
	}
	badReq, err := ParseRequest(bad)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Issue(ca.cert, ca.id, badReq, time.Hour, testNow); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("request for another key: %v", err)
	}
	for _, names := range []Names{{}, {DNS: []string{"a b"}}, {Email: []string{"alice"}}, {DNS: []string{"-x.example"}}} {
		if _, err := Request(id, names); err == nil {
			t.Errorf("Request(%v) made a request", names)
		}
	}
}

func TestParseChainBounds(t *testing.T) {
	ca := newTestCA(t, "ca", "Example CA")
	pemCA := EncodePEM(PEMCertificate, ca.cert.Raw)
	cases := map[string][]byte{
		"empty":           nil,
		"trailing byte":   append(bytes.Clone(ca.cert.Raw), 0),
		"text in PEM":     append([]byte("Certificate:\n"), pemCA...),
		"request in PEM":  EncodePEM(PEMRequest, ca.cert.Raw),
		"too many":        bytes.Repeat(pemCA, MaxChainLength+1),
		"too many in DER": bytes.Repeat(ca.cert.Raw, MaxChainLength+1),
		"PEM headers":     bytes.Replace(pemCA, []byte("-----\n"), []byte("-----\nProc-Type: 4,ENCRYPTED\n\n"), 1),
	}
	for what, data := range cases {
		if _, err := ParseChain(data); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %v, want ErrMalformed", what, err)
		}
	}
	for _, data := range [][]byte{ca.cert.Raw, pemCA, append([]byte("# the CA\n\n"), pemCA...), EncodeChain([]*x509.Certificate{ca.cert, ca.cert})} {
		if _, err := ParseChain(data); err != nil {
			t.Errorf("ParseChain: %v", err)
		}
	}
}
