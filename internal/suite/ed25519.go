package suite

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"fmt"

	"filippo.io/edwards25519"
)

// Ed25519 is pure Ed25519 (RFC 8032). Its canonical public key encoding is
// the 32-byte point, which must be in the prime-order subgroup.
var Ed25519 = &Signature{
	ID:          Ed25519ID,
	Name:        "Ed25519",
	Key:         "ed25519",
	PublicSize:  ed25519.PublicKeySize,
	ParsePublic: func(raw []byte) (SigningPublic, error) { return signingPublic(newEd25519Public(raw)) },
	FromPKIX:    ed25519FromPKIX,
	FromPKCS8:   ed25519FromPKCS8,
	Generate:    generateEd25519,
}

// errEd25519Key is the reason an Ed25519 public key is refused.
var errEd25519Key = malformed("the Ed25519 public key is not a canonical encoding of a point of prime order")

type ed25519Public struct{ pk ed25519.PublicKey }

// newEd25519Public checks a public key the way spec/blob.md section 3.2
// pins it: the canonical encoding of a point of the prime-order subgroup.
// A small-order key would verify an identity-point signature on any
// message, a key that nobody holds; a non-canonical one would give one key
// two fingerprints. Keys made from a seed always pass.
func newEd25519Public(raw []byte) (*ed25519Public, error) {
	if len(raw) != ed25519.PublicKeySize {
		return nil, errEd25519Key
	}
	p, err := new(edwards25519.Point).SetBytes(raw)
	if err != nil || !bytes.Equal(p.Bytes(), raw) || !primeOrder(p) {
		return nil, errEd25519Key
	}
	return &ed25519Public{ed25519.PublicKey(bytes.Clone(raw))}, nil
}

// primeOrder reports whether p is in the prime-order subgroup and is not
// the identity: [ℓ]p is the identity, that is [ℓ−1]p = −p. p is a public
// key, so the multiplication may take variable time (about half of the
// constant-time one's: every parsed blob's signer key is checked).
func primeOrder(p *edwards25519.Point) bool {
	if p.Equal(edwards25519.NewIdentityPoint()) == 1 {
		return false
	}
	lm1p := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(scalarMinusOne, p, edwards25519.NewScalar())
	return lm1p.Equal(new(edwards25519.Point).Negate(p)) == 1
}

// scalarMinusOne is ℓ − 1, made once: 0 − 1 modulo ℓ.
var scalarMinusOne = func() *edwards25519.Scalar {
	one := make([]byte, 32)
	one[0] = 1
	s, err := edwards25519.NewScalar().SetCanonicalBytes(one)
	if err != nil {
		panic("keyblob: " + err.Error())
	}
	return new(edwards25519.Scalar).Subtract(edwards25519.NewScalar(), s)
}()

func (p *ed25519Public) Suite() *Signature            { return Ed25519 }
func (p *ed25519Public) Bytes() []byte                { return p.pk }
func (p *ed25519Public) Bits() int                    { return 0 }
func (p *ed25519Public) SignatureSize() int           { return ed25519.SignatureSize }
func (p *ed25519Public) MarshalPKIX() ([]byte, error) { return x509.MarshalPKIXPublicKey(p.pk) }

func (p *ed25519Public) Verify(msg, sig []byte) bool {
	return len(sig) == ed25519.SignatureSize && ed25519.Verify(p.pk, msg, sig)
}

type ed25519Private struct{ sk ed25519.PrivateKey }

// Public returns the public key unchecked: a key made from a seed is
// always of prime order.
func (k *ed25519Private) Public() SigningPublic {
	return &ed25519Public{k.sk.Public().(ed25519.PublicKey)}
}

func (k *ed25519Private) Sign(msg []byte) ([]byte, error) { return ed25519.Sign(k.sk, msg), nil }
func (k *ed25519Private) MarshalPKCS8() ([]byte, error)   { return x509.MarshalPKCS8PrivateKey(k.sk) }

func generateEd25519(int) (SigningPrivate, error) {
	_, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return &ed25519Private{sk}, nil
}

func ed25519FromPKCS8(_ []byte, key any) (SigningPrivate, error) {
	k, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, nil
	}
	return &ed25519Private{k}, nil
}

func ed25519FromPKIX(_ []byte, key any) (SigningPublic, error) {
	k, ok := key.(ed25519.PublicKey)
	if !ok {
		return nil, nil
	}
	p, err := newEd25519Public(k)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	return p, nil
}
