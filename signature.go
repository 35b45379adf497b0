package keyblob

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
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

// signatureSizeRange returns the allowed sizes of a signature.
func (a SignatureAlg) signatureSizeRange() (lo, hi int, ok bool) {
	switch a {
	case SignatureEd25519:
		return ed25519.SignatureSize, ed25519.SignatureSize, true
	case SignatureRSAPSS:
		return minRSABits / 8, maxRSABits / 8, true
	}
	return 0, 0, false
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
