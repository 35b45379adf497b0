package keyblob

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// CertificateSigner returns the identity's signature key as a
// crypto.Signer that signs X.509 structures only: certificates,
// certificate requests and CRLs made by crypto/x509 (Go 1.25 or later,
// which hands a crypto.MessageSigner the whole to-be-signed structure).
// An Ed25519 key signs PureEd25519; an RSA key signs RSA-PSS with SHA-256,
// MGF1-SHA256 and a 32-byte salt (x509.SHA256WithRSAPSS, the parameters
// of keyblob's own RSA signatures), and nothing else: the caller must set
// that SignatureAlgorithm in its templates for an RSA key. It returns
// ErrCannotSign if the identity has no signature key.
//
// Why this cannot forge a keyblob signature: every message keyblob signs
// begins with "keyblob/v1 signature\x00" (Identity.Sign), a first byte of
// 0x6b, and every X.509 to-be-signed structure is one DER SEQUENCE, a
// first byte of 0x30. SignMessage refuses any message that is not exactly
// one DER SEQUENCE element, and hashes it itself, so no signature it makes
// covers a keyblob signed message, nor its SHA-256 for an RSA-PSS key.
// Sign, which takes a digest the signer cannot check, refuses every
// digest; with no hash (Ed25519) it is SignMessage.
func (id *Identity) CertificateSigner() (crypto.Signer, error) {
	if id.signing == nil {
		return nil, ErrCannotSign
	}
	der, err := id.signing.MarshalPKCS8()
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	switch k := key.(type) {
	case ed25519.PrivateKey:
		return &certSigner{key: k}, nil
	case *rsa.PrivateKey:
		return &certSigner{key: k}, nil
	}
	return nil, fmt.Errorf("keyblob: signature key of type %T cannot sign certificates", key)
}

// certSigner is CertificateSigner's signer: an ed25519.PrivateKey or an
// *rsa.PrivateKey behind the checks of SignMessage.
type certSigner struct {
	key crypto.Signer
}

// errNotX509 is the refusal of a message that is not one DER SEQUENCE.
var errNotX509 = errors.New("keyblob: the certificate signer signs only X.509 structures (one DER SEQUENCE)")

// Public returns the public signature key.
func (s *certSigner) Public() crypto.PublicKey { return s.key.Public() }

// Sign refuses digests (see CertificateSigner); with no hash, digest is
// the message and Sign is SignMessage.
func (s *certSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts == nil || opts.HashFunc() != 0 {
		return nil, errors.New("keyblob: the certificate signer signs whole messages, not digests (use crypto.SignMessage)")
	}
	return s.SignMessage(rand, digest, opts)
}

// SignMessage signs msg, which must be exactly one DER SEQUENCE, with
// PureEd25519 or RSA-PSS-SHA256 (salt of 32 bytes), as the key is.
func (s *certSigner) SignMessage(rand io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	if !oneDERSequence(msg) {
		return nil, errNotX509
	}
	switch k := s.key.(type) {
	case ed25519.PrivateKey:
		if opts == nil || opts.HashFunc() != 0 {
			return nil, errors.New("keyblob: an Ed25519 certificate signer signs PureEd25519 only")
		}
		return ed25519.Sign(k, msg), nil
	case *rsa.PrivateKey:
		pss, ok := opts.(*rsa.PSSOptions)
		if !ok || pss.Hash != crypto.SHA256 || pss.SaltLength != rsa.PSSSaltLengthEqualsHash {
			return nil, errors.New("keyblob: an RSA certificate signer signs RSA-PSS with SHA-256 only (x509.SHA256WithRSAPSS)")
		}
		h := crypto.SHA256.New()
		h.Write(msg)
		return rsa.SignPSS(rand, k, crypto.SHA256, h.Sum(nil), pss)
	}
	panic("keyblob: certificate signer of an unknown key type")
}

// oneDERSequence reports whether msg is exactly one DER SEQUENCE element.
func oneDERSequence(msg []byte) bool {
	s := cryptobyte.String(msg)
	var body cryptobyte.String
	return s.ReadASN1(&body, cbasn1.SEQUENCE) && s.Empty()
}

// SigningPublicKey returns the signature key as a standard public key
// (ed25519.PublicKey or *rsa.PublicKey), as crypto/x509 returns a
// certificate's public key, so that the two compare with Equal; nil if r
// has no signature key.
func (r *Recipient) SigningPublicKey() crypto.PublicKey {
	if r.signing == nil {
		return nil
	}
	der, err := r.signing.MarshalPKIX()
	if err != nil {
		panic("keyblob: marshalling a parsed signature key: " + err.Error())
	}
	key, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		panic("keyblob: parsing a marshalled signature key: " + err.Error())
	}
	return key
}
