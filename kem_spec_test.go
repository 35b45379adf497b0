package keyblob_test

// Spec tests for the hybrid exchange algorithm (spec/blob.md sections 3.1,
// 3.5 and 7.2): every byte of MLKEM768-X25519 HPKE is recomputed here from
// crypto/mlkem, crypto/ecdh, golang.org/x/crypto/sha3 and crypto/hkdf,
// never from crypto/hpke, and compared with what the package does.

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/mlkem"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/sha3"

	"github.com/keyblob/keyblob"
)

// xwingLabel is X-Wing's combiner label, the six bytes \.//^\ .
const xwingLabel = "\x5c\x2e\x2f\x2f\x5e\x5c"

// HPKE identifiers of spec/blob.md section 3.1.
const (
	kemXWing       = 0x647a
	kdfHKDFSHA256  = 0x0001
	aeadAES256GCM  = 0x0002
	aeadExportOnly = 0xffff
)

// handXWing is an X-Wing key pair expanded by hand from its seed.
type handXWing struct {
	seed []byte
	dk   *mlkem.DecapsulationKey768
	x    *ecdh.PrivateKey
}

// expandXWing is section 3.5's expansion: SHAKE256(seed) read for 96
// bytes; bytes 0-31 are ML-KEM's d, 32-63 its z, 64-95 the X25519 secret.
func expandXWing(t *testing.T, seed []byte) *handXWing {
	t.Helper()
	out := make([]byte, 96)
	h := sha3.NewShake256()
	h.Write(seed)
	h.Read(out)
	dk, err := mlkem.NewDecapsulationKey768(out[0:64]) // d || z, FIPS 203's seed form
	if err != nil {
		t.Fatal(err)
	}
	x, err := ecdh.X25519().NewPrivateKey(out[64:96])
	if err != nil {
		t.Fatal(err)
	}
	return &handXWing{seed, dk, x}
}

// public is the 1216-byte public key: ML-KEM encapsulation key, then X25519.
func (k *handXWing) public() []byte {
	return append(k.dk.EncapsulationKey().Bytes(), k.x.PublicKey().Bytes()...)
}

// xwingIdentity reads the seed as section 7.2's PKCS #8 block.
func xwingIdentity(t *testing.T, seed []byte) *keyblob.Identity {
	t.Helper()
	type algID struct{ OID asn1.ObjectIdentifier }
	der, err := asn1.Marshal(struct {
		Version int
		Alg     algID
		Key     []byte
	}{0, algID{asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 62253, 25722}}, seed})
	if err != nil {
		t.Fatal(err)
	}
	id, err := keyblob.ParseIdentity(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// encapsulate is X-Wing's encapsulation with the X25519 ephemeral eph:
// enc = ct_M || ct_X and ss = SHA3-256(ss_M || ss_X || ct_X || pk_X || label).
func encapsulate(t *testing.T, pub []byte, eph *ecdh.PrivateKey) (enc, ss []byte) {
	t.Helper()
	ek, err := mlkem.NewEncapsulationKey768(pub[:mlkem.EncapsulationKeySize768])
	if err != nil {
		t.Fatal(err)
	}
	pkX, err := ecdh.X25519().NewPublicKey(pub[mlkem.EncapsulationKeySize768:])
	if err != nil {
		t.Fatal(err)
	}
	ssM, ctM := ek.Encapsulate()
	ssX, err := eph.ECDH(pkX)
	if err != nil {
		t.Fatal(err)
	}
	ctX := eph.PublicKey().Bytes()
	return append(ctM, ctX...), combine(ssM, ssX, ctX, pkX.Bytes())
}

func combine(ssM, ssX, ctX, pkX []byte) []byte {
	h := sha3.New256()
	for _, b := range [][]byte{ssM, ssX, ctX, pkX, []byte(xwingLabel)} {
		h.Write(b)
	}
	return h.Sum(nil)
}

// hpkeContext is RFC 9180's base-mode key schedule for the suite
// (kem, kdf, aead) and the KEM's shared secret taken as it is.
type hpkeContext struct {
	suite  []byte
	secret []byte
	ctx    []byte
}

func newHPKEContext(t *testing.T, kem, kdf, aead uint16, shared, info []byte) *hpkeContext {
	suite := binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16([]byte("HPKE"), kem), kdf), aead)
	c := &hpkeContext{suite: suite}
	pskIDHash := c.extract(t, nil, "psk_id_hash", nil)
	infoHash := c.extract(t, nil, "info_hash", info)
	c.ctx = append(append([]byte{0x00}, pskIDHash...), infoHash...)
	c.secret = c.extract(t, shared, "secret", nil)
	return c
}

func (c *hpkeContext) extract(t *testing.T, salt []byte, label string, ikm []byte) []byte {
	prk, err := hkdf.Extract(sha256.New, append(append(append([]byte("HPKE-v1"), c.suite...), label...), ikm...), salt)
	if err != nil {
		t.Fatal(err)
	}
	return prk
}

func (c *hpkeContext) expand(t *testing.T, prk []byte, label string, info []byte, n int) []byte {
	full := append(append(append(binary.BigEndian.AppendUint16(nil, uint16(n)), "HPKE-v1"...), c.suite...), label...)
	out, err := hkdf.Expand(sha256.New, prk, string(append(full, info...)), n)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// export is the HPKE secret export (RFC 9180 section 5.3).
func (c *hpkeContext) export(t *testing.T, exporterContext string, n int) []byte {
	return c.expand(t, c.expand(t, c.secret, "exp", c.ctx, 32), "sec", []byte(exporterContext), n)
}

// seal is the first AES-256-GCM seal of the context (sequence number 0).
func (c *hpkeContext) seal(t *testing.T, plaintext []byte) []byte {
	block, err := aes.NewCipher(c.expand(t, c.secret, "key", c.ctx, 32))
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return gcm.Seal(nil, c.expand(t, c.secret, "base_nonce", c.ctx, 12), plaintext, nil)
}

func newSeed(t *testing.T) []byte {
	seed := make([]byte, 32)
	rand.Read(seed)
	return seed
}

func newX25519(t *testing.T) *ecdh.PrivateKey {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestSpecXWingSeedExpansion: the identity of a 32-byte seed has the
// public key SHAKE256 expansion gives, ML-KEM key first.
func TestSpecXWingSeedExpansion(t *testing.T) {
	for range 4 {
		seed := newSeed(t)
		id := xwingIdentity(t, seed)
		if got, want := id.Recipient().ExchangeKeyBytes(), expandXWing(t, seed).public(); !bytes.Equal(got, want) {
			t.Fatalf("seed %x: public key differs from the hand expansion", seed)
		}
		if id.Kind() != "hybrid-exchange" {
			t.Errorf("kind %s, want hybrid-exchange", id.Kind())
		}
	}
}

// TestSpecXWingCombinerAndExport: a hand encapsulation decapsulates, and
// the secret is HPKE's export over X-Wing's 32-byte secret as it is, with
// the suite 0x647a, HKDF-SHA256, export-only (spec/channel.md 4.1).
func TestSpecXWingCombinerAndExport(t *testing.T) {
	seed := newSeed(t)
	k, id := expandXWing(t, seed), xwingIdentity(t, seed)
	info := []byte("keyblob/v2 channel responder static")
	enc, ss := encapsulate(t, k.public(), newX25519(t))
	if len(enc) != 1120 {
		t.Fatalf("enc of %d bytes", len(enc))
	}
	got, err := id.Decapsulate(enc, info)
	if err != nil {
		t.Fatal(err)
	}
	want := newHPKEContext(t, kemXWing, kdfHKDFSHA256, aeadExportOnly, ss, info).export(t, "keyblob/v1 kem secret", 32)
	if !bytes.Equal(got, want) {
		t.Fatal("Decapsulate differs from the hand key schedule")
	}
	// The other direction: the package's encapsulation decapsulates by hand.
	r, err := keyblob.ParseExchangeKey(keyblob.ExchangeHybrid, k.public())
	if err != nil {
		t.Fatal(err)
	}
	enc, secret, err := r.Encapsulate(info)
	if err != nil {
		t.Fatal(err)
	}
	ssM, err := k.dk.Decapsulate(enc[:mlkem.CiphertextSize768])
	if err != nil {
		t.Fatal(err)
	}
	ctX, _ := ecdh.X25519().NewPublicKey(enc[mlkem.CiphertextSize768:])
	ssX, err := k.x.ECDH(ctX)
	if err != nil {
		t.Fatal(err)
	}
	ss = combine(ssM, ssX, ctX.Bytes(), k.x.PublicKey().Bytes())
	if want := newHPKEContext(t, kemXWing, kdfHKDFSHA256, aeadExportOnly, ss, info).export(t, "keyblob/v1 kem secret", 32); !bytes.Equal(secret, want) {
		t.Fatal("Encapsulate's secret differs from the hand decapsulation")
	}
}

// TestSpecXWingWrap: a key blob whose wrapped key is made by hand (HPKE
// base mode, AES-256-GCM, info = the blob label) imports to the key.
func TestSpecXWingWrap(t *testing.T) {
	seed := newSeed(t)
	k, id := expandXWing(t, seed), xwingIdentity(t, seed)
	key := keyblob.NewSessionKey()
	b, err := keyblob.Export(key, id.Recipient(), nil)
	if err != nil {
		t.Fatal(err)
	}
	header := b.Marshal()[:67] // unsigned, no description: h = 67
	want := make([]byte, 32)
	rand.Read(want)
	enc, ss := encapsulate(t, k.public(), newX25519(t))
	info := append([]byte("keyblob/v1 key blob\x00"), header...)
	wrapped := append(enc, newHPKEContext(t, kemXWing, kdfHKDFSHA256, aeadAES256GCM, ss, info).seal(t, want)...)
	blob := append(binary.BigEndian.AppendUint16(bytes.Clone(header), uint16(len(wrapped))), wrapped...)
	parsed, err := keyblob.ParseKeyBlob(blob)
	if err != nil {
		t.Fatal(err)
	}
	got, err := keyblob.Import(parsed, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) || got.Serial() != key.Serial() {
		t.Fatal("the hand-wrapped key imports to other bytes")
	}
}

// lowOrder are X25519 u-coordinates whose product with any scalar is the
// all-zero string: 0, 1, the two points of order 8, p - 1, p, p + 1, and
// 0 and 1 with the top bit set (which X25519 ignores).
var lowOrder = [][]byte{
	make([]byte, 32),
	le("01"),
	le("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
	le("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
	le("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
	le("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
	le("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
	le("0000000000000000000000000000000000000000000000000000000000000080"),
	le("0100000000000000000000000000000000000000000000000000000000000080"),
}

// le returns the 32 little-endian bytes written in hex.
func le(s string) []byte {
	b, err := hex.DecodeString(s + strings.Repeat("00", 32-len(s)/2))
	if err != nil {
		panic(err)
	}
	return b
}

// TestSpecXWingAllZeroShare: an X25519 share whose Diffie-Hellman output is
// all zero is refused, where X-Wing as written would hash 32 zero bytes
// into the secret: decapsulation fails (so a blob's unwrap is an auth
// failure), and nothing can be encapsulated or exported to a hybrid key
// whose X25519 half is such a point, although that key parses.
func TestSpecXWingAllZeroShare(t *testing.T) {
	seed := newSeed(t)
	k, id := expandXWing(t, seed), xwingIdentity(t, seed)
	for _, u := range lowOrder {
		if _, err := k.x.ECDH(mustX25519Public(t, u)); err == nil {
			t.Fatalf("%x: not a low-order point", u)
		}
		ctM, _ := k.dk.EncapsulationKey().Encapsulate()
		if _, err := id.Decapsulate(append(ctM, u...), []byte("info")); err == nil {
			t.Errorf("%x: decapsulated an all-zero X25519 share", u)
		}
		pub := append(k.dk.EncapsulationKey().Bytes(), u...)
		r, err := keyblob.ParseExchangeKey(keyblob.ExchangeHybrid, pub)
		if err != nil {
			t.Fatalf("%x: the key does not parse: %v", u, err)
		}
		if _, _, err := r.Encapsulate([]byte("info")); err == nil {
			t.Errorf("%x: encapsulated to a low-order X25519 half", u)
		}
		if _, err := keyblob.Export(keyblob.NewSessionKey(), r, nil); err == nil {
			t.Errorf("%x: exported to a low-order X25519 half", u)
		}
	}
	// In a blob: the hand wrap with an all-zero share is an auth failure.
	b, err := keyblob.Export(keyblob.NewSessionKey(), id.Recipient(), nil)
	if err != nil {
		t.Fatal(err)
	}
	raw := b.Marshal()
	copy(raw[67+2+1088:], make([]byte, 32)) // ct_X of the enc
	parsed, err := keyblob.ParseKeyBlob(raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keyblob.Import(parsed, id, nil); !errors.Is(err, keyblob.ErrAuth) {
		t.Errorf("all-zero share in a blob: %v, want ErrAuth", err)
	}
}

func mustX25519Public(t *testing.T, u []byte) *ecdh.PublicKey {
	p, err := ecdh.X25519().NewPublicKey(u)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSpecXWingTopBit: a hybrid key whose X25519 half has its top bit set
// (or is not reduced) parses and can be encapsulated to, with X25519
// ignoring the bit and the combiner hashing the bytes as written; its
// holder, whose key has the bit clear, cannot open what is sent to it, and
// a blob to it names another fingerprint (incorrect identity).
func TestSpecXWingTopBit(t *testing.T) {
	seed := newSeed(t)
	k, id := expandXWing(t, seed), xwingIdentity(t, seed)
	pub := k.public()
	if pub[len(pub)-1]&0x80 != 0 {
		t.Fatal("a generated X25519 public key has its top bit set")
	}
	pub[len(pub)-1] |= 0x80
	r, err := keyblob.ParseExchangeKey(keyblob.ExchangeHybrid, pub)
	if err != nil {
		t.Fatalf("top bit set: %v", err)
	}
	if r.ExchangeFingerprint() == id.Recipient().ExchangeFingerprint() {
		t.Fatal("one fingerprint for two encodings")
	}
	info := []byte("info")
	enc, secret, err := r.Encapsulate(info)
	if err != nil {
		t.Fatalf("top bit set: %v", err)
	}
	// By hand: the same DH value, but pk_X as written in the combiner.
	ssM, _ := k.dk.Decapsulate(enc[:mlkem.CiphertextSize768])
	ssX, err := k.x.ECDH(mustX25519Public(t, enc[mlkem.CiphertextSize768:]))
	if err != nil {
		t.Fatal(err)
	}
	ss := combine(ssM, ssX, enc[mlkem.CiphertextSize768:], pub[mlkem.EncapsulationKeySize768:])
	if want := newHPKEContext(t, kemXWing, kdfHKDFSHA256, aeadExportOnly, ss, info).export(t, "keyblob/v1 kem secret", 32); !bytes.Equal(secret, want) {
		t.Fatal("the combiner does not hash pk_X as written")
	}
	if got, err := id.Decapsulate(enc, info); err == nil && bytes.Equal(got, secret) {
		t.Fatal("the holder opened an encapsulation to the top-bit encoding")
	}
	b, err := keyblob.Export(keyblob.NewSessionKey(), r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keyblob.Import(b, id, nil); !errors.Is(err, keyblob.ErrIncorrectIdentity) {
		t.Errorf("blob to the top-bit encoding: %v, want ErrIncorrectIdentity", err)
	}
	// An enc whose ct_X has the top bit set is not refused: it is the
	// encapsulator's bytes, hashed as written.
	eph := newX25519(t)
	enc, _ = encapsulate(t, k.public(), eph)
	ctX := enc[mlkem.CiphertextSize768:]
	ctX[31] |= 0x80
	ssX, _ = eph.ECDH(mustX25519Public(t, k.x.PublicKey().Bytes()))
	ssM, _ = k.dk.Decapsulate(enc[:mlkem.CiphertextSize768])
	ss = combine(ssM, ssX, ctX, k.x.PublicKey().Bytes())
	got, err := id.Decapsulate(enc, info)
	if err != nil {
		t.Fatalf("ct_X with the top bit set: %v", err)
	}
	if want := newHPKEContext(t, kemXWing, kdfHKDFSHA256, aeadExportOnly, ss, info).export(t, "keyblob/v1 kem secret", 32); !bytes.Equal(got, want) {
		t.Fatal("ct_X with the top bit set: not hashed as written")
	}
}

// TestSpecX25519AllZero: DHKEM(X25519) refuses the all-zero result both
// ways (spec/blob.md section 3.1, RFC 9180 section 7.1.4).
func TestSpecX25519AllZero(t *testing.T) {
	id, err := keyblob.GenerateIdentity(keyblob.KindX25519)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range lowOrder {
		if _, err := id.Decapsulate(u, []byte("info")); err == nil {
			t.Errorf("%x: decapsulated", u)
		}
		r, err := keyblob.ParseExchangeKey(keyblob.ExchangeX25519, u)
		if err != nil {
			t.Fatalf("%x: %v", u, err)
		}
		if _, err := keyblob.Export(keyblob.NewSessionKey(), r, nil); err == nil {
			t.Errorf("%x: exported", u)
		}
	}
}
