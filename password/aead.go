package password

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
)

// A Label names one use of the passphrase AEAD. Each use has its own, so
// that one passphrase with one salt never gives two uses the same key.
type Label string

// The labels of keyblob's passphrase AEADs, one per protocol. A new use
// adds its own label here, never reuses one.
const (
	// SealedStanza wraps a sealed message's session key (spec/sealed.md 1.3).
	SealedStanza Label = "keyblob/v1 passphrase key: sealed stanza"
	// StoredIdentity encrypts a stored identity (spec/keystore.md 4.3).
	StoredIdentity Label = "keyblob/v1 passphrase key: stored identity"
)

// Overhead is the number of bytes Seal adds to a plaintext: the GCM tag.
const Overhead = 16

// ErrPassphrase is returned by Open when the ciphertext does not
// authenticate: a wrong passphrase, or modified data, which cannot be told
// apart. It is the one passphrase failure of the module.
var ErrPassphrase = errors.New("wrong passphrase")

// zeroNonce is the nonce of every passphrase AEAD. A fixed nonce is safe
// because no key is ever used twice: each key is HKDF of Argon2id(passphrase,
// salt) under the use's own label, and every caller seals under a new random
// salt (New), so a key differs from every other with overwhelming
// probability, across uses as well as within one.
var zeroNonce [12]byte

// Seal encrypts and authenticates plaintext and aad under the key that the
// passphrase, p and label give, and returns the ciphertext (Overhead bytes
// longer). p's salt MUST be new for this call (take it from New): the key
// is used with a fixed nonce. The limits are checked before any work.
func (p Params) Seal(passphrase []byte, label Label, plaintext, aad []byte) ([]byte, error) {
	aead, err := p.aead(passphrase, label)
	if err != nil {
		return nil, err
	}
	return aead.Seal(nil, zeroNonce[:], plaintext, aad), nil
}

// Open reverses Seal. A ciphertext that does not authenticate with this
// passphrase, label and aad gives ErrPassphrase and nothing else; broken
// limits give ErrParams, before any work.
func (p Params) Open(passphrase []byte, label Label, ciphertext, aad []byte) ([]byte, error) {
	aead, err := p.aead(passphrase, label)
	if err != nil {
		return nil, err
	}
	plain, err := aead.Open(nil, zeroNonce[:], ciphertext, aad)
	if err != nil {
		return nil, ErrPassphrase
	}
	return plain, nil
}

// aead returns AES-256-GCM under aeadKey.
func (p Params) aead(passphrase []byte, label Label) (cipher.AEAD, error) {
	key, err := p.aeadKey(passphrase, label)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		panic("password: " + err.Error()) // a 32-byte key is always valid
	}
	return cipher.NewGCM(block)
}

// aeadKey is HKDF-Expand(SHA-256, Argon2id(passphrase, p, 32), label, 32).
// Argon2id's output is already uniformly random, so there is no Extract
// step (as for the derived session keys of spec/keystore.md 9.1).
func (p Params) aeadKey(passphrase []byte, label Label) ([]byte, error) {
	if label == "" {
		return nil, errors.New("empty AEAD label")
	}
	prk, err := p.Key(passphrase, 32)
	if err != nil {
		return nil, err
	}
	key, err := hkdf.Expand(sha256.New, prk, string(label), 32)
	if err != nil {
		return nil, err
	}
	return key, nil
}
