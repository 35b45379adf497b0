package keyblob

import (
	"crypto/ecdh"
	"crypto/hpke"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
)

// ExchangeAlg identifies how session keys are wrapped to an exchange key
// (CryptoAPI's key exchange key pair).
type ExchangeAlg uint8

// Exchange algorithms. The numbers are part of every format; never reuse one.
const (
	ExchangeNone ExchangeAlg = 0
	// ExchangeHybrid is HPKE with the MLKEM768-X25519 (X-Wing) KEM,
	// HKDF-SHA256 and AES-256-GCM: post-quantum and classical at once.
	ExchangeHybrid ExchangeAlg = 1
	// ExchangeX25519 is HPKE with DHKEM(X25519, HKDF-SHA256), HKDF-SHA256
	// and AES-256-GCM.
	ExchangeX25519 ExchangeAlg = 2
	// ExchangeRSAOAEP is RSA-OAEP with SHA-256 and MGF1-SHA256.
	ExchangeRSAOAEP ExchangeAlg = 3
)

// String names the algorithm.
func (a ExchangeAlg) String() string {
	switch a {
	case ExchangeNone:
		return "none"
	case ExchangeHybrid:
		return "MLKEM768-X25519 HPKE"
	case ExchangeX25519:
		return "X25519 HPKE"
	case ExchangeRSAOAEP:
		return "RSA-OAEP-SHA256"
	}
	return fmt.Sprintf("unknown exchange algorithm %d", uint8(a))
}

// PostQuantum reports whether the algorithm resists quantum computers.
func (a ExchangeAlg) PostQuantum() bool { return a == ExchangeHybrid }

// wrappedSizeRange returns the allowed sizes of a wrapped 32-byte key.
func (a ExchangeAlg) wrappedSizeRange() (lo, hi int, ok bool) {
	switch a {
	case ExchangeHybrid:
		return 1120 + 32 + 16, 1120 + 32 + 16, true
	case ExchangeX25519:
		return 32 + 32 + 16, 32 + 32 + 16, true
	case ExchangeRSAOAEP:
		return minRSABits / 8, maxRSABits / 8, true
	}
	return 0, 0, false
}

const (
	minRSABits = 2048
	maxRSABits = 4096
)

// exchangePublic is the public half of an exchange key.
type exchangePublic interface {
	alg() ExchangeAlg
	encoded() []byte // canonical public key encoding
	bits() int       // modulus size for RSA, 0 otherwise
	wrap(key, label []byte) ([]byte, error)
	spki() ([]byte, error)
}

// exchangePrivate is an exchange key pair.
type exchangePrivate interface {
	public() exchangePublic
	unwrap(wrapped, label []byte) ([]byte, error)
	pkcs8() ([]byte, error)
}

// hpkePublic is an HPKE recipient key (hybrid or X25519).
type hpkePublic struct {
	a  ExchangeAlg
	pk hpke.PublicKey
}

func (p *hpkePublic) alg() ExchangeAlg { return p.a }
func (p *hpkePublic) encoded() []byte  { return p.pk.Bytes() }
func (p *hpkePublic) bits() int        { return 0 }

func (p *hpkePublic) wrap(key, label []byte) ([]byte, error) {
	return hpke.Seal(p.pk, hpke.HKDFSHA256(), hpke.AES256GCM(), label, key)
}

func (p *hpkePublic) spki() ([]byte, error) {
	if p.a == ExchangeHybrid {
		return marshalXWingSPKI(p.pk.Bytes())
	}
	pub, err := ecdh.X25519().NewPublicKey(p.pk.Bytes())
	if err != nil {
		return nil, err
	}
	return x509.MarshalPKIXPublicKey(pub)
}

// hpkePrivate is an HPKE key pair. der is its PKCS #8 encoding.
type hpkePrivate struct {
	pub hpkePublic
	sk  hpke.PrivateKey
	der []byte
}

func (k *hpkePrivate) public() exchangePublic { return &k.pub }
func (k *hpkePrivate) pkcs8() ([]byte, error) { return k.der, nil }

func (k *hpkePrivate) unwrap(wrapped, label []byte) ([]byte, error) {
	return hpke.Open(k.sk, hpke.HKDFSHA256(), hpke.AES256GCM(), label, wrapped)
}

// newXWingPrivate returns the hybrid key pair with the given 32-byte seed.
func newXWingPrivate(seed []byte) (*hpkePrivate, error) {
	sk, err := hpke.MLKEM768X25519().NewPrivateKey(seed)
	if err != nil {
		return nil, err
	}
	der, err := marshalXWingPKCS8(seed)
	if err != nil {
		return nil, err
	}
	return &hpkePrivate{pub: hpkePublic{ExchangeHybrid, sk.PublicKey()}, sk: sk, der: der}, nil
}

// newX25519Private returns the HPKE key pair of an X25519 key.
func newX25519Private(k *ecdh.PrivateKey) (*hpkePrivate, error) {
	if k.Curve() != ecdh.X25519() {
		return nil, fmt.Errorf("keyblob: only X25519 ECDH keys are supported")
	}
	sk, err := hpke.NewDHKEMPrivateKey(k)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return &hpkePrivate{pub: hpkePublic{ExchangeX25519, sk.PublicKey()}, sk: sk, der: der}, nil
}

// newHPKEPublic parses a raw hybrid or X25519 public key.
func newHPKEPublic(a ExchangeAlg, raw []byte) (*hpkePublic, error) {
	kem := hpke.MLKEM768X25519()
	if a == ExchangeX25519 {
		kem = hpke.DHKEM(ecdh.X25519())
	}
	pk, err := kem.NewPublicKey(raw)
	if err != nil {
		return nil, err
	}
	return &hpkePublic{a: a, pk: pk}, nil
}

// rsaPublic is an RSA-OAEP-SHA256 exchange public key.
type rsaPublic struct{ pk *rsa.PublicKey }

func (p *rsaPublic) alg() ExchangeAlg      { return ExchangeRSAOAEP }
func (p *rsaPublic) encoded() []byte       { return x509.MarshalPKCS1PublicKey(p.pk) }
func (p *rsaPublic) bits() int             { return p.pk.N.BitLen() }
func (p *rsaPublic) spki() ([]byte, error) { return x509.MarshalPKIXPublicKey(p.pk) }

func (p *rsaPublic) wrap(key, label []byte) ([]byte, error) {
	return rsa.EncryptOAEP(sha256.New(), rand.Reader, p.pk, key, label)
}

// rsaPrivate is an RSA key pair used for RSA-OAEP-SHA256.
type rsaPrivate struct{ sk *rsa.PrivateKey }

func (k *rsaPrivate) public() exchangePublic { return &rsaPublic{&k.sk.PublicKey} }
func (k *rsaPrivate) pkcs8() ([]byte, error) { return x509.MarshalPKCS8PrivateKey(k.sk) }

func (k *rsaPrivate) unwrap(wrapped, label []byte) ([]byte, error) {
	return rsa.DecryptOAEP(sha256.New(), nil, k.sk, wrapped, label)
}

// checkRSASize rejects RSA keys outside the supported sizes.
func checkRSASize(pk *rsa.PublicKey) error {
	if n := pk.N.BitLen(); n < minRSABits || n > maxRSABits {
		return fmt.Errorf("keyblob: RSA key of %d bits; supported sizes are %d to %d bits", n, minRSABits, maxRSABits)
	}
	return nil
}
