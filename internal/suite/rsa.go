package suite

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
)

// RSAOAEP is RSA-OAEP with SHA-256 and MGF1-SHA256, for RSA keys of
// MinRSABits to MaxRSABits. A wrapped key is as long as the modulus. Its
// canonical public key encoding is the PKCS #1 DER; its keys are standard
// RSA keys, and one RSA key may also sign with RSAPSS.
var RSAOAEP = &Exchange{
	ID:          RSAOAEPID,
	Name:        "RSA-OAEP-SHA256",
	Key:         "rsa",
	MinWrapped:  MinRSABits / 8,
	MaxWrapped:  MaxRSABits / 8,
	ParsePublic: func(raw []byte) (ExchangePublic, error) { return exchangePublic(parseRSAOAEPPublic(raw)) },
	FromPKIX:    rsaOAEPFromPKIX,
	FromPKCS8:   rsaOAEPFromPKCS8,
	Generate:    generateRSAOAEP,
}

// The supported RSA key sizes, for both RSA algorithms.
const (
	MinRSABits = 2048
	MaxRSABits = 4096
)

type rsaOAEPPublic struct{ pk *rsa.PublicKey }

func (p *rsaOAEPPublic) Suite() *Exchange             { return RSAOAEP }
func (p *rsaOAEPPublic) Bytes() []byte                { return x509.MarshalPKCS1PublicKey(p.pk) }
func (p *rsaOAEPPublic) Bits() int                    { return p.pk.N.BitLen() }
func (p *rsaOAEPPublic) MarshalPKIX() ([]byte, error) { return x509.MarshalPKIXPublicKey(p.pk) }

func (p *rsaOAEPPublic) Wrap(key, label []byte) ([]byte, error) {
	return rsa.EncryptOAEP(sha256.New(), rand.Reader, p.pk, key, label)
}

type rsaOAEPPrivate struct{ sk *rsa.PrivateKey }

func (k *rsaOAEPPrivate) Public() ExchangePublic        { return &rsaOAEPPublic{&k.sk.PublicKey} }
func (k *rsaOAEPPrivate) MarshalPKCS8() ([]byte, error) { return x509.MarshalPKCS8PrivateKey(k.sk) }

func (k *rsaOAEPPrivate) Unwrap(wrapped, label []byte) ([]byte, error) {
	return rsa.DecryptOAEP(sha256.New(), nil, k.sk, wrapped, label)
}

func parseRSAOAEPPublic(raw []byte) (*rsaOAEPPublic, error) {
	pk, err := parsePKCS1Public(raw)
	if err != nil {
		return nil, err
	}
	return &rsaOAEPPublic{pk}, nil
}

func generateRSAOAEP(bits int) (ExchangePrivate, error) {
	sk, err := generateRSA(bits)
	if err != nil {
		return nil, err
	}
	return &rsaOAEPPrivate{sk}, nil
}

func rsaOAEPFromPKCS8(_ []byte, key any) (ExchangePrivate, error) {
	k, err := rsaPrivateOf(key)
	if k == nil || err != nil {
		return nil, err
	}
	return &rsaOAEPPrivate{k}, nil
}

func rsaOAEPFromPKIX(_ []byte, key any) (ExchangePublic, error) {
	k, err := rsaPublicOf(key)
	if k == nil || err != nil {
		return nil, err
	}
	return &rsaOAEPPublic{k}, nil
}

// The helpers below are shared by RSAOAEP and RSAPSS.

// generateRSA makes an RSA key of a supported size.
func generateRSA(bits int) (*rsa.PrivateKey, error) {
	if bits < MinRSABits || bits > MaxRSABits {
		return nil, rsaSizeError(bits)
	}
	return rsa.GenerateKey(rand.Reader, bits)
}

// checkRSASize refuses RSA keys outside the supported sizes.
func checkRSASize(pk *rsa.PublicKey) error {
	if n := pk.N.BitLen(); n < MinRSABits || n > MaxRSABits {
		return rsaSizeError(n)
	}
	return nil
}

func rsaSizeError(n int) error {
	return fmt.Errorf("RSA key of %d bits; supported sizes are %d to %d bits", n, MinRSABits, MaxRSABits)
}

// parsePKCS1Public parses a canonical DER RSA public key of a supported size.
func parsePKCS1Public(raw []byte) (*rsa.PublicKey, error) {
	pk, err := x509.ParsePKCS1PublicKey(raw)
	if err != nil || !bytes.Equal(x509.MarshalPKCS1PublicKey(pk), raw) {
		return nil, malformed("bad RSA public key")
	}
	if err := checkRSASize(pk); err != nil {
		return nil, err
	}
	return pk, nil
}

// rsaPrivateOf returns key if it is an RSA private key of a supported
// size, nil and no error if it is no RSA key.
func rsaPrivateOf(key any) (*rsa.PrivateKey, error) {
	k, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, nil
	}
	if err := checkRSASize(&k.PublicKey); err != nil {
		return nil, err
	}
	return k, nil
}

// rsaPublicOf is rsaPrivateOf for public keys.
func rsaPublicOf(key any) (*rsa.PublicKey, error) {
	k, ok := key.(*rsa.PublicKey)
	if !ok {
		return nil, nil
	}
	if err := checkRSASize(k); err != nil {
		return nil, err
	}
	return k, nil
}
