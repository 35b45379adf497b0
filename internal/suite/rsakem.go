package suite

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
)

// RSA-OAEP keys have a KEM view too (KEMPublicOf, KEMPrivateOf), so that
// every exchange algorithm can take part in a protocol that needs a
// shared secret (a channel handshake): Encapsulate draws a random secret
// and encrypts it with RSA-OAEP-SHA256, with info as the OAEP label;
// Decapsulate decrypts it. With an empty info this is exactly the seed
// channel profile's key transport (spec/channel.md).
type rsaKEMPublic struct{ *rsaOAEPPublic }

type rsaKEMPrivate struct{ *rsaOAEPPrivate }

// Encapsulate implements KEMPublic.
func (p rsaKEMPublic) Encapsulate(info []byte) (enc, secret []byte, err error) {
	secret = make([]byte, kemSecretSize)
	rand.Read(secret)
	enc, err = rsa.EncryptOAEP(sha256.New(), rand.Reader, p.pk, secret, info)
	if err != nil {
		return nil, nil, err
	}
	return enc, secret, nil
}

// errRSADecapsulate is the one error of a failed RSA decapsulation: it
// never says whether the padding or the length was wrong.
var errRSADecapsulate = errors.New("decapsulation failed")

// Decapsulate implements KEMPrivate. Any failure is the same error.
func (k rsaKEMPrivate) Decapsulate(enc, info []byte) ([]byte, error) {
	secret, err := rsa.DecryptOAEP(sha256.New(), nil, k.sk, enc, info)
	if err != nil || len(secret) != kemSecretSize {
		return nil, errRSADecapsulate
	}
	return secret, nil
}
