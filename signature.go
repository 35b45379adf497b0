package keyblob

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"

	"filippo.io/edwards25519"
)

// SignatureAlg identifies a signature algorithm (CryptoAPI's signature key
// pair).
type SignatureAlg uint8

// Signature algorithms. The numbers are part of every format; never reuse one.
const (
	SignatureNone SignatureAlg = 0
	// SignatureEd25519 is pure Ed25519.
	SignatureEd25519 SignatureAlg = 1
	// SignatureRSAPSS is RSASSA-PSS with SHA-256, MGF1-SHA256 and a 32-byte
	// salt.
	SignatureRSAPSS SignatureAlg = 2
)

// String names the algorithm.
func (a SignatureAlg) String() string {
	switch a {
	case SignatureNone:
		return "none"
	case SignatureEd25519:
		return "Ed25519"
	case SignatureRSAPSS:
		return "RSA-PSS-SHA256"
	}
	return fmt.Sprintf("unknown signature algorithm %d", uint8(a))
}

// signingPublic is the public half of a signature key.
type signingPublic interface {
	alg() SignatureAlg
	encoded() []byte // canonical public key encoding
	bits() int       // modulus size for RSA, 0 otherwise
	verify(msg, sig []byte) bool
	spki() ([]byte, error)
}

// signingPrivate is a signature key pair.
type signingPrivate interface {
	public() signingPublic
	sign(msg []byte) ([]byte, error)
	pkcs8() ([]byte, error)
}

// ed25519Public is an Ed25519 verification key.
type ed25519Public struct{ pk ed25519.PublicKey }

// errEd25519Key is the reason an Ed25519 public key is refused.
var errEd25519Key = errors.New("the Ed25519 public key is not a canonical encoding of a point of prime order")

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
// the identity: [ℓ]p is the identity, that is [ℓ−1]p = −p.
func primeOrder(p *edwards25519.Point) bool {
	identity := edwards25519.NewIdentityPoint()
	if p.Equal(identity) == 1 {
		return false
	}
	minusOne := new(edwards25519.Scalar).Subtract(edwards25519.NewScalar(), scalarOne())
	lm1p := new(edwards25519.Point).ScalarMult(minusOne, p)
	return lm1p.Equal(new(edwards25519.Point).Negate(p)) == 1
}

func scalarOne() *edwards25519.Scalar {
	one := make([]byte, 32)
	one[0] = 1
	s, err := edwards25519.NewScalar().SetCanonicalBytes(one)
	if err != nil {
		panic("keyblob: " + err.Error())
	}
	return s
}

func (p *ed25519Public) alg() SignatureAlg     { return SignatureEd25519 }
func (p *ed25519Public) encoded() []byte       { return p.pk }
func (p *ed25519Public) bits() int             { return 0 }
func (p *ed25519Public) spki() ([]byte, error) { return x509.MarshalPKIXPublicKey(p.pk) }

func (p *ed25519Public) verify(msg, sig []byte) bool {
	return len(sig) == ed25519.SignatureSize && ed25519.Verify(p.pk, msg, sig)
}

// ed25519Private is an Ed25519 key pair.
type ed25519Private struct{ sk ed25519.PrivateKey }

func (k *ed25519Private) public() signingPublic {
	return &ed25519Public{k.sk.Public().(ed25519.PublicKey)}
}

func (k *ed25519Private) sign(msg []byte) ([]byte, error) { return ed25519.Sign(k.sk, msg), nil }
func (k *ed25519Private) pkcs8() ([]byte, error)          { return x509.MarshalPKCS8PrivateKey(k.sk) }

// pssOptions fixes the salt to the hash size, on both sides: a signature
// with any other salt length is invalid.
var pssOptions = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}

// rsaPSSPublic is an RSA-PSS verification key.
type rsaPSSPublic struct{ pk *rsa.PublicKey }

func (p *rsaPSSPublic) alg() SignatureAlg     { return SignatureRSAPSS }
func (p *rsaPSSPublic) encoded() []byte       { return x509.MarshalPKCS1PublicKey(p.pk) }
func (p *rsaPSSPublic) bits() int             { return p.pk.N.BitLen() }
func (p *rsaPSSPublic) spki() ([]byte, error) { return x509.MarshalPKIXPublicKey(p.pk) }

func (p *rsaPSSPublic) verify(msg, sig []byte) bool {
	digest := sha256.Sum256(msg)
	return rsa.VerifyPSS(p.pk, crypto.SHA256, digest[:], sig, pssOptions) == nil
}

// rsaPSSPrivate is an RSA key pair used for RSA-PSS.
type rsaPSSPrivate struct{ sk *rsa.PrivateKey }

func (k *rsaPSSPrivate) public() signingPublic  { return &rsaPSSPublic{&k.sk.PublicKey} }
func (k *rsaPSSPrivate) pkcs8() ([]byte, error) { return x509.MarshalPKCS8PrivateKey(k.sk) }

func (k *rsaPSSPrivate) sign(msg []byte) ([]byte, error) {
	digest := sha256.Sum256(msg)
	return rsa.SignPSS(rand.Reader, k.sk, crypto.SHA256, digest[:], pssOptions)
}
