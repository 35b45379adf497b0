package channel

// Spec tests for spec/channel.md section 4.3: the prologue P, with an RSA
// server key written as the DER of its PKCS #1 RSAPublicKey (spec/blob.md
// section 3.1), not as a SubjectPublicKeyInfo.

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rsaExchangeKey reads the first (exchange) key of testdata/keys/NAME.key
// with crypto/x509 alone.
func rsaExchangeKey(t *testing.T, name string) *rsa.PublicKey {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(keysDir, name+".key"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatal("no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return &k.(*rsa.PrivateKey).PublicKey
}

// prologue is P by hand.
func prologue(alg byte, key []byte) []byte {
	p := append([]byte("keyblob/v2 channel\x00"), alg)
	return append(binary.BigEndian.AppendUint16(p, uint16(len(key))), key...)
}

// TestSpecPrologueRSA: the client's transcript starts with P, the server
// key as PKCS #1 DER.
func TestSpecPrologueRSA(t *testing.T) {
	ccfg, _ := pair(t, V2, "rsa-2048", false)
	hs, err := newV2Client(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	pub := rsaExchangeKey(t, "bob-rsa-2048")
	der := x509.MarshalPKCS1PublicKey(pub)
	if pub.N.BitLen() == 2048 && pub.E == 65537 && len(der) != 270 {
		t.Errorf("PKCS #1 DER of %d bytes, want 270", len(der))
	}
	want := prologue(3, der)
	if len(want) != 22+270 {
		t.Errorf("prologue of %d bytes", len(want))
	}
	c := hs.(*v2Client)
	c.startTranscript() // as phase 1 does
	if got := c.t.buf; !bytes.Equal(got, want) {
		t.Fatalf("prologue %x..., want %x...", got[:40], want[:40])
	}
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(want, prologue(3, spki)) {
		t.Fatal("PKCS #1 and SPKI encodings coincide")
	}
}

// TestSpecPrologueRSAVector: in the stored RSA vector, confirm_s is the
// HMAC over th2 = SHA-256(P || u32<m1> || u32<m2'>) with P by hand.
func TestSpecPrologueRSAVector(t *testing.T) {
	fields := readSpecVector(t, "v2-rsa-2048-mutual")
	m1, m2, hs := fields["m1"], fields["m2"], fields["hs"]
	body, confirm := m2[:len(m2)-32], m2[len(m2)-32:]
	th := sha256.New()
	th.Write(prologue(3, x509.MarshalPKCS1PublicKey(rsaExchangeKey(t, "bob-rsa-2048"))))
	for _, m := range [][]byte{m1, body} {
		th.Write(binary.BigEndian.AppendUint32(nil, uint32(len(m))))
		th.Write(m)
	}
	key, err := hkdf.Expand(sha256.New, hs, "keyblob/v2 responder confirm\x00", 32)
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(th.Sum(nil))
	if !bytes.Equal(mac.Sum(nil), confirm) {
		t.Fatal("confirm_s is not over the PKCS #1 prologue")
	}
}

// readSpecVector reads the hex fields m1, m2 and hs of a channel vector
// (spec/channel.md section 5).
func readSpecVector(t *testing.T, name string) map[string][]byte {
	data, err := os.ReadFile(filepath.Join(vectorDir, name+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string][]byte{}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, _ := strings.Cut(line, ": ")
		if k == "m1" || k == "m2" || k == "hs" {
			if fields[k], err = hex.DecodeString(v); err != nil {
				t.Fatalf("%s: %v", k, err)
			}
		}
	}
	if len(fields) != 3 {
		t.Fatalf("%s: fields %v", name, fields)
	}
	return fields
}
