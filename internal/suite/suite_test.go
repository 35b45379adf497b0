package suite

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
)

// The numbers of spec/blob.md sections 3.1 and 3.2, written out here
// independently of the tables.
var exchangeSpec = []struct {
	e                      *Exchange
	id                     uint8
	name, key              string
	pq                     bool
	publicSize             int // 0: varies
	minWrapped, maxWrapped int
	kem                    uint16 // HPKE KEM id, 0 for none
	bits                   int    // a key size to generate
}{
	{Hybrid, 1, "MLKEM768-X25519 HPKE", "hybrid", true, 1216, 1168, 1168, 0x647a, 0},
	{X25519, 2, "X25519 HPKE", "x25519", false, 32, 80, 80, 0x0020, 0},
	{RSAOAEP, 3, "RSA-OAEP-SHA256", "rsa", false, 0, 256, 512, 0, 2048},
}

var signatureSpec = []struct {
	s          *Signature
	id         uint8
	name, key  string
	publicSize int
	sigSize    int // for a key of bits
	bits       int
}{
	{Ed25519, 1, "Ed25519", "ed25519", 32, 64, 0},
	{RSAPSS, 2, "RSA-PSS-SHA256", "rsa", 0, 256, 2048},
}

func TestExchangeTable(t *testing.T) {
	if len(Exchanges()) != len(exchangeSpec) {
		t.Fatalf("%d exchange entries, the spec has %d", len(Exchanges()), len(exchangeSpec))
	}
	for i, tt := range exchangeSpec {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.e
			if Exchanges()[i] != e || ExchangeByID(tt.id) != e {
				t.Errorf("entry %d is not found by its position and ID %d", i, tt.id)
			}
			if e.ID != tt.id || e.Name != tt.name || e.Key != tt.key || e.PostQuantum != tt.pq ||
				e.PublicSize != tt.publicSize || e.MinWrapped != tt.minWrapped || e.MaxWrapped != tt.maxWrapped {
				t.Errorf("entry %+v does not match the spec %+v", e, tt)
			}
			if (e.KEM == nil) != (tt.kem == 0) || (e.KEM != nil && e.KEM.ID() != tt.kem) {
				t.Errorf("KEM is not HPKE KEM %#04x", tt.kem)
			}
			checkExchangeKeys(t, e, tt.bits, tt.publicSize)
		})
	}
	for _, id := range []uint8{0, 4, 255} {
		if ExchangeByID(id) != nil {
			t.Errorf("ExchangeByID(%d) is an entry", id)
		}
	}
}

// checkExchangeKeys generates a key and round-trips it through every
// encoding and a wrap.
func checkExchangeKeys(t *testing.T, e *Exchange, bits, publicSize int) {
	t.Helper()
	k, err := e.Generate(bits)
	if err != nil {
		t.Fatal(err)
	}
	pub := k.Public()
	if pub.Suite() != e || pub.Bits() != bits || (publicSize != 0 && len(pub.Bytes()) != publicSize) {
		t.Errorf("generated key: suite %s, %d bits, %d bytes", pub.Suite().Name, pub.Bits(), len(pub.Bytes()))
	}
	parsed, err := e.ParsePublic(pub.Bytes())
	if err != nil || parsed.Suite() != e || !bytes.Equal(parsed.Bytes(), pub.Bytes()) {
		t.Errorf("ParsePublic(Bytes()) = %v", err)
	}
	label := []byte("label")
	wrapped, err := parsed.Wrap(make([]byte, 32), label)
	if err != nil || len(wrapped) < e.MinWrapped || len(wrapped) > e.MaxWrapped {
		t.Fatalf("Wrap: %d bytes, %v", len(wrapped), err)
	}
	if key, err := k.Unwrap(wrapped, label); err != nil || !bytes.Equal(key, make([]byte, 32)) {
		t.Errorf("Unwrap: %v", err)
	}
	if _, err := k.Unwrap(wrapped, []byte("other label")); err == nil {
		t.Errorf("Unwrap with another label succeeded")
	}
	checkExchangePKIX(t, e, k)
}

func checkExchangePKIX(t *testing.T, e *Exchange, k ExchangePrivate) {
	t.Helper()
	der, err := k.MarshalPKCS8()
	if err != nil {
		t.Fatal(err)
	}
	ex, _, err := ParsePKCS8(der)
	if err != nil || ex.Public().Suite() != e || !bytes.Equal(ex.Public().Bytes(), k.Public().Bytes()) {
		t.Errorf("ParsePKCS8(MarshalPKCS8()) = %v", err)
	}
	if again, _ := ex.MarshalPKCS8(); !bytes.Equal(again, der) {
		t.Errorf("PKCS #8 does not round trip to the same bytes")
	}
	spki, err := k.Public().MarshalPKIX()
	if err != nil {
		t.Fatal(err)
	}
	pub, _, err := ParsePKIX(spki)
	if err != nil || pub.Suite() != e || !bytes.Equal(pub.Bytes(), k.Public().Bytes()) {
		t.Errorf("ParsePKIX(MarshalPKIX()) = %v", err)
	}
}

func TestSignatureTable(t *testing.T) {
	if len(Signatures()) != len(signatureSpec) {
		t.Fatalf("%d signature entries, the spec has %d", len(Signatures()), len(signatureSpec))
	}
	for i, tt := range signatureSpec {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.s
			if Signatures()[i] != s || SignatureByID(tt.id) != s {
				t.Errorf("entry %d is not found by its position and ID %d", i, tt.id)
			}
			if s.ID != tt.id || s.Name != tt.name || s.Key != tt.key || s.PublicSize != tt.publicSize {
				t.Errorf("entry %+v does not match the spec %+v", s, tt)
			}
			checkSigningKeys(t, s, tt.bits, tt.publicSize, tt.sigSize)
		})
	}
	for _, id := range []uint8{0, 3, 255} {
		if SignatureByID(id) != nil {
			t.Errorf("SignatureByID(%d) is an entry", id)
		}
	}
}

func checkSigningKeys(t *testing.T, s *Signature, bits, publicSize, sigSize int) {
	t.Helper()
	k, err := s.Generate(bits)
	if err != nil {
		t.Fatal(err)
	}
	pub := k.Public()
	if pub.Suite() != s || pub.Bits() != bits || pub.SignatureSize() != sigSize ||
		(publicSize != 0 && len(pub.Bytes()) != publicSize) {
		t.Errorf("generated key: %d bits, %d bytes, signatures of %d", pub.Bits(), len(pub.Bytes()), pub.SignatureSize())
	}
	parsed, err := s.ParsePublic(pub.Bytes())
	if err != nil || parsed.Suite() != s || !bytes.Equal(parsed.Bytes(), pub.Bytes()) {
		t.Errorf("ParsePublic(Bytes()) = %v", err)
	}
	sig, err := k.Sign([]byte("message"))
	if err != nil || len(sig) != sigSize {
		t.Fatalf("Sign: %d bytes, %v", len(sig), err)
	}
	if !parsed.Verify([]byte("message"), sig) || parsed.Verify([]byte("massage"), sig) {
		t.Errorf("Verify accepts the wrong message or refuses the right one")
	}
	der, err := k.MarshalPKCS8()
	if err != nil {
		t.Fatal(err)
	}
	ex, sk, err := ParsePKCS8(der)
	if err != nil || sk.Public().Suite() != s || !bytes.Equal(sk.Public().Bytes(), pub.Bytes()) {
		t.Errorf("ParsePKCS8(MarshalPKCS8()) = %v", err)
	}
	// One RSA key plays both roles; an Ed25519 key only signs.
	if (ex != nil) != (s.Key == "rsa") {
		t.Errorf("a %s private key has exchange role %v", s.Name, ex != nil)
	}
	spki, err := pub.MarshalPKIX()
	if err != nil {
		t.Fatal(err)
	}
	if _, p, err := ParsePKIX(spki); err != nil || p.Suite() != s || !bytes.Equal(p.Bytes(), pub.Bytes()) {
		t.Errorf("ParsePKIX(MarshalPKIX()) = %v", err)
	}
}

// TestKEM encapsulates to each HPKE key and decapsulates.
func TestKEM(t *testing.T) {
	for _, e := range Exchanges() {
		k, err := e.Generate(2048)
		if err != nil {
			t.Fatal(err)
		}
		pub, okPub := k.Public().(KEMPublic)
		priv, okPriv := k.(KEMPrivate)
		if okPub != (e.KEM != nil) || okPriv != (e.KEM != nil) {
			t.Errorf("%s: KEM interfaces %v/%v, KEM %v", e.Name, okPub, okPriv, e.KEM != nil)
		}
		if e.KEM == nil {
			continue
		}
		enc, secret, err := pub.Encapsulate([]byte("info"))
		if err != nil || len(secret) != 32 {
			t.Fatalf("%s: Encapsulate: %v", e.Name, err)
		}
		if got, err := priv.Decapsulate(enc, []byte("info")); err != nil || !bytes.Equal(got, secret) {
			t.Errorf("%s: Decapsulate does not give the secret: %v", e.Name, err)
		}
		if got, err := priv.Decapsulate(enc, []byte("other")); err == nil && bytes.Equal(got, secret) {
			t.Errorf("%s: the secret does not depend on info", e.Name)
		}
	}
}

// TestParsePublicRejects checks that the table refuses malformed keys as
// *MalformedError and RSA keys of other sizes with their own error.
func TestParsePublicRejects(t *testing.T) {
	tests := []struct {
		name      string
		parse     func([]byte) error
		raw       []byte
		malformed bool
	}{
		{"hybrid short", func(b []byte) error { _, err := Hybrid.ParsePublic(b); return err }, make([]byte, 1215), true},
		{"X25519 short", func(b []byte) error { _, err := X25519.ParsePublic(b); return err }, make([]byte, 31), true},
		{"RSA garbage", func(b []byte) error { _, err := RSAOAEP.ParsePublic(b); return err }, []byte{1, 2, 3}, true},
		{"Ed25519 identity", func(b []byte) error { _, err := Ed25519.ParsePublic(b); return err }, append([]byte{1}, make([]byte, 31)...), true},
		{"RSA-PSS garbage", func(b []byte) error { _, err := RSAPSS.ParsePublic(b); return err }, []byte{0x30, 0}, true},
	}
	for _, tt := range tests {
		err := tt.parse(tt.raw)
		if _, ok := errors.AsType[*MalformedError](err); err == nil || ok != tt.malformed {
			t.Errorf("%s: %v, want a MalformedError %v", tt.name, err, tt.malformed)
		}
	}
	if _, err := generateRSA(1024); err == nil {
		t.Errorf("an RSA key of 1024 bits was made")
	}
}

// TestXWingEncodings checks the X-Wing PKCS #8 and SPKI codecs: the OID,
// exact sizes, and no trailing bytes.
func TestXWingEncodings(t *testing.T) {
	// 1.3.6.1.4.1.62253.25722 in DER.
	oid := []byte{0x06, 0x0b, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xe6, 0x2d, 0x81, 0xc8, 0x7a}
	seed := make([]byte, XWingSeedSize)
	rand.Read(seed)
	der, err := marshalXWingPKCS8(seed)
	if err != nil || !bytes.Contains(der, oid) {
		t.Fatalf("the X-Wing PKCS #8 does not hold the OID (err %v)", err)
	}
	if got, ok, err := xwingPKCS8Seed(der); !ok || err != nil || !bytes.Equal(got, seed) {
		t.Errorf("xwingPKCS8Seed: ok %v, err %v", ok, err)
	}
	short, _ := marshalXWingPKCS8(seed[:31])
	for _, bad := range [][]byte{append(bytes.Clone(der), 0), short} {
		if _, ok, err := xwingPKCS8Seed(bad); !ok || err == nil {
			t.Errorf("xwingPKCS8Seed accepted %x", bad)
		}
	}
	k, err := newXWingPrivate(seed)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := k.Public().MarshalPKIX()
	if err != nil || !bytes.Contains(spki, oid) {
		t.Fatalf("the X-Wing SPKI does not hold the OID (err %v)", err)
	}
	if pub, ok, err := xwingSPKIKey(spki); !ok || err != nil || !bytes.Equal(pub, k.Public().Bytes()) {
		t.Errorf("xwingSPKIKey: ok %v, err %v", ok, err)
	}
	if _, ok, err := xwingSPKIKey(append(bytes.Clone(spki), 0)); !ok || err == nil {
		t.Errorf("xwingSPKIKey accepted a trailing byte")
	}
}

func TestKeyName(t *testing.T) {
	for _, tt := range []struct {
		key  string
		bits int
		want string
	}{{"hybrid", 0, "hybrid"}, {"rsa", 2048, "rsa-2048"}, {"rsa", 2560, "rsa-2560"}} {
		if got := KeyName(tt.key, tt.bits); got != tt.want {
			t.Errorf("KeyName(%q, %d) = %q, want %q", tt.key, tt.bits, got, tt.want)
		}
	}
}

// TestTablesAreCopies: changing the slice a lookup returns does not change
// the table.
func TestTablesAreCopies(t *testing.T) {
	Exchanges()[0], Signatures()[0] = nil, nil
	if Exchanges()[0] != Hybrid || Signatures()[0] != Ed25519 {
		t.Errorf("the tables were changed through their copies")
	}
}
