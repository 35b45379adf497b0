package suite

import (
	"bytes"
	"crypto/hpke"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"

	"github.com/keyblob/keyblob/internal/format"
)

// Hybrid is HPKE with the MLKEM768-X25519 (X-Wing) KEM, HKDF-SHA256 and
// AES-256-GCM: post-quantum and classical at once. A wrapped key is the
// 1120-byte encapsulation, the 32-byte key and the 16-byte tag.
var Hybrid = &Exchange{
	ID:          HybridID,
	Name:        "MLKEM768-X25519 HPKE",
	Key:         "hybrid",
	PostQuantum: true,
	PublicSize:  XWingPublicSize,
	MinWrapped:  1120 + 32 + 16,
	MaxWrapped:  1120 + 32 + 16,
	KEM:         hpke.MLKEM768X25519(),
	ParsePublic: func(raw []byte) (ExchangePublic, error) { return exchangePublic(parseXWingPublic(raw)) },
	FromPKIX:    xwingFromPKIX,
	FromPKCS8:   xwingFromPKCS8,
	Generate:    generateXWing,
}

// Sizes of X-Wing keys: the private key is a seed.
const (
	XWingSeedSize   = 32
	XWingPublicSize = 1216
)

// oidXWing is id-XWing from draft-connolly-cfrg-xwing-kem. Its PKCS #8
// private key is the raw 32-byte seed and its SubjectPublicKeyInfo key the
// raw 1216-byte public key, with no algorithm parameters.
var oidXWing = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 62253, 25722}

type xwingPublic struct{ hpkePublic }

func (p *xwingPublic) Suite() *Exchange             { return Hybrid }
func (p *xwingPublic) MarshalPKIX() ([]byte, error) { return marshalXWingSPKI(p.pk.Bytes()) }

type xwingPrivate struct {
	hpkePrivate
	pub xwingPublic
}

func (k *xwingPrivate) Public() ExchangePublic { return &k.pub }

func parseXWingPublic(raw []byte) (*xwingPublic, error) {
	p, err := parseHPKEPublic(hpke.MLKEM768X25519(), raw)
	if err != nil {
		return nil, err
	}
	return &xwingPublic{p}, nil
}

// newXWingPrivate returns the key pair with the given 32-byte seed.
func newXWingPrivate(seed []byte) (*xwingPrivate, error) {
	sk, err := hpke.MLKEM768X25519().NewPrivateKey(seed)
	if err != nil {
		return nil, err
	}
	der, err := marshalXWingPKCS8(seed)
	if err != nil {
		return nil, err
	}
	return &xwingPrivate{hpkePrivate{sk, der}, xwingPublic{hpkePublic{sk.PublicKey()}}}, nil
}

func generateXWing(int) (ExchangePrivate, error) {
	seed := make([]byte, XWingSeedSize)
	rand.Read(seed)
	return exchangePrivate(newXWingPrivate(seed))
}

type pkcs8Info struct {
	Version    int
	Algorithm  pkix.AlgorithmIdentifier
	PrivateKey []byte
}

type spkiInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	PublicKey asn1.BitString
}

func marshalXWingPKCS8(seed []byte) ([]byte, error) {
	return asn1.Marshal(pkcs8Info{Algorithm: pkix.AlgorithmIdentifier{Algorithm: oidXWing}, PrivateKey: seed})
}

func marshalXWingSPKI(pub []byte) ([]byte, error) {
	return asn1.Marshal(spkiInfo{
		Algorithm: pkix.AlgorithmIdentifier{Algorithm: oidXWing},
		PublicKey: asn1.BitString{Bytes: pub, BitLength: 8 * len(pub)},
	})
}

// xwingPKCS8Seed returns the seed of an X-Wing PKCS #8 key, ok false if der
// is not one, and an error if it claims to be one but is malformed.
func xwingPKCS8Seed(der []byte) (seed []byte, ok bool, err error) {
	var info pkcs8Info
	if _, err := asn1.Unmarshal(der, &info); err != nil || !info.Algorithm.Algorithm.Equal(oidXWing) {
		return nil, false, nil
	}
	canon, err := marshalXWingPKCS8(info.PrivateKey)
	if err != nil || len(info.PrivateKey) != XWingSeedSize || !bytes.Equal(canon, der) {
		return nil, true, fmt.Errorf("%w MLKEM768-X25519 private key", format.ErrMalformed)
	}
	return info.PrivateKey, true, nil
}

// xwingSPKIKey is xwingPKCS8Seed for public keys.
func xwingSPKIKey(der []byte) (pub []byte, ok bool, err error) {
	var info spkiInfo
	if _, err := asn1.Unmarshal(der, &info); err != nil || !info.Algorithm.Algorithm.Equal(oidXWing) {
		return nil, false, nil
	}
	pub = info.PublicKey.RightAlign()
	canon, err := marshalXWingSPKI(pub)
	if err != nil || len(pub) != XWingPublicSize || !bytes.Equal(canon, der) {
		return nil, true, fmt.Errorf("%w MLKEM768-X25519 public key", format.ErrMalformed)
	}
	return pub, true, nil
}

// xwingFromPKCS8 reads der itself: crypto/x509 does not know X-Wing.
func xwingFromPKCS8(der []byte, _ any) (ExchangePrivate, error) {
	seed, ok, err := xwingPKCS8Seed(der)
	if !ok || err != nil {
		return nil, err
	}
	return exchangePrivate(newXWingPrivate(seed))
}

func xwingFromPKIX(der []byte, _ any) (ExchangePublic, error) {
	raw, ok, err := xwingSPKIKey(der)
	if !ok || err != nil {
		return nil, err
	}
	return exchangePublic(parseXWingPublic(raw))
}
