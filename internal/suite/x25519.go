package suite

import (
	"crypto/ecdh"
	"crypto/hpke"
	"crypto/rand"
	"crypto/x509"
	"errors"
)

// X25519 is HPKE with DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and
// AES-256-GCM. A wrapped key is the 32-byte encapsulation, the 32-byte key
// and the 16-byte tag. Its keys are standard X25519 keys (RFC 8410).
var X25519 = &Exchange{
	ID:          X25519ID,
	Name:        "X25519 HPKE",
	Key:         "x25519",
	PublicSize:  32,
	MinWrapped:  32 + 32 + 16,
	MaxWrapped:  32 + 32 + 16,
	KEM:         hpke.DHKEM(ecdh.X25519()),
	ParsePublic: func(raw []byte) (ExchangePublic, error) { return exchangePublic(parseX25519Public(raw)) },
	FromPKIX:    x25519FromPKIX,
	FromPKCS8:   x25519FromPKCS8,
	Generate:    generateX25519,
}

type x25519Public struct{ hpkePublic }

func (p *x25519Public) Suite() *Exchange { return X25519 }

func (p *x25519Public) MarshalPKIX() ([]byte, error) {
	pub, err := ecdh.X25519().NewPublicKey(p.pk.Bytes())
	if err != nil {
		return nil, err
	}
	return x509.MarshalPKIXPublicKey(pub)
}

type x25519Private struct {
	hpkePrivate
	pub x25519Public
}

func (k *x25519Private) Public() ExchangePublic { return &k.pub }

func parseX25519Public(raw []byte) (*x25519Public, error) {
	p, err := parseHPKEPublic(hpke.DHKEM(ecdh.X25519()), raw)
	if err != nil {
		return nil, err
	}
	return &x25519Public{p}, nil
}

// newX25519Private returns the HPKE key pair of an X25519 key.
func newX25519Private(k *ecdh.PrivateKey) (*x25519Private, error) {
	if k.Curve() != ecdh.X25519() {
		return nil, errors.New("only X25519 ECDH keys are supported")
	}
	sk, err := hpke.NewDHKEMPrivateKey(k)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return &x25519Private{hpkePrivate{sk, der}, x25519Public{hpkePublic{sk.PublicKey()}}}, nil
}

func generateX25519(int) (ExchangePrivate, error) {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return exchangePrivate(newX25519Private(k))
}

func x25519FromPKCS8(_ []byte, key any) (ExchangePrivate, error) {
	k, ok := key.(*ecdh.PrivateKey)
	if !ok || k.Curve() != ecdh.X25519() {
		return nil, nil
	}
	return exchangePrivate(newX25519Private(k))
}

func x25519FromPKIX(_ []byte, key any) (ExchangePublic, error) {
	k, ok := key.(*ecdh.PublicKey)
	if !ok || k.Curve() != ecdh.X25519() {
		return nil, nil
	}
	return exchangePublic(parseX25519Public(k.Bytes()))
}
