package suite

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
)

// RSAPSS is RSASSA-PSS with SHA-256, MGF1-SHA256 and a 32-byte salt, for
// RSA keys of MinRSABits to MaxRSABits. A signature is as long as the
// modulus. Its canonical public key encoding is the PKCS #1 DER.
var RSAPSS = &Signature{
	ID:          RSAPSSID,
	Name:        "RSA-PSS-SHA256",
	Key:         "rsa",
	ParsePublic: func(raw []byte) (SigningPublic, error) { return signingPublic(parseRSAPSSPublic(raw)) },
	FromPKIX:    rsaPSSFromPKIX,
	FromPKCS8:   rsaPSSFromPKCS8,
	Generate:    generateRSAPSS,
}

// pssOptions fixes the salt to the hash size, on both sides: a signature
// with any other salt length is invalid.
var pssOptions = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}

type rsaPSSPublic struct{ pk *rsa.PublicKey }

func (p *rsaPSSPublic) Suite() *Signature            { return RSAPSS }
func (p *rsaPSSPublic) Bytes() []byte                { return x509.MarshalPKCS1PublicKey(p.pk) }
func (p *rsaPSSPublic) Bits() int                    { return p.pk.N.BitLen() }
func (p *rsaPSSPublic) SignatureSize() int           { return p.pk.Size() }
func (p *rsaPSSPublic) MarshalPKIX() ([]byte, error) { return x509.MarshalPKIXPublicKey(p.pk) }

func (p *rsaPSSPublic) Verify(msg, sig []byte) bool {
	digest := sha256.Sum256(msg)
	return rsa.VerifyPSS(p.pk, crypto.SHA256, digest[:], sig, pssOptions) == nil
}

type rsaPSSPrivate struct{ sk *rsa.PrivateKey }

func (k *rsaPSSPrivate) Public() SigningPublic         { return &rsaPSSPublic{&k.sk.PublicKey} }
func (k *rsaPSSPrivate) MarshalPKCS8() ([]byte, error) { return x509.MarshalPKCS8PrivateKey(k.sk) }

func (k *rsaPSSPrivate) Sign(msg []byte) ([]byte, error) {
	digest := sha256.Sum256(msg)
	return rsa.SignPSS(rand.Reader, k.sk, crypto.SHA256, digest[:], pssOptions)
}

func parseRSAPSSPublic(raw []byte) (*rsaPSSPublic, error) {
	pk, err := parsePKCS1Public(raw)
	if err != nil {
		return nil, err
	}
	return &rsaPSSPublic{pk}, nil
}

func generateRSAPSS(bits int) (SigningPrivate, error) {
	sk, err := generateRSA(bits)
	if err != nil {
		return nil, err
	}
	return &rsaPSSPrivate{sk}, nil
}

func rsaPSSFromPKCS8(_ []byte, key any) (SigningPrivate, error) {
	k, err := rsaPrivateOf(key)
	if k == nil || err != nil {
		return nil, err
	}
	return &rsaPSSPrivate{k}, nil
}

func rsaPSSFromPKIX(_ []byte, key any) (SigningPublic, error) {
	k, err := rsaPublicOf(key)
	if k == nil || err != nil {
		return nil, err
	}
	return &rsaPSSPublic{k}, nil
}
