package suite

import (
	"crypto/ecdh"
	"errors"
)

// KEMPublicOf returns the KEM view of an exchange public key: the key
// itself for the HPKE algorithms, the RSA-OAEP KEM of rsakem.go for RSA.
func KEMPublicOf(p ExchangePublic) (KEMPublic, bool) {
	switch k := p.(type) {
	case KEMPublic:
		return k, true
	case *rsaOAEPPublic:
		return rsaKEMPublic{k}, true
	}
	return nil, false
}

// KEMPrivateOf is KEMPublicOf for key pairs.
func KEMPrivateOf(k ExchangePrivate) (KEMPrivate, bool) {
	switch k := k.(type) {
	case KEMPrivate:
		return k, true
	case *rsaOAEPPrivate:
		return rsaKEMPrivate{k}, true
	}
	return nil, false
}

// KEMSecretSize is the size of every secret KEMPublic.Encapsulate returns.
const KEMSecretSize = kemSecretSize

// EncapsulatedSize returns the smallest and largest size of an
// encapsulated key of the algorithm (KEMPublic.Encapsulate's enc): for
// HPKE the wrapped size less the sealed 32-byte key and its tag, for RSA
// the modulus size.
func (e *Exchange) EncapsulatedSize() (lo, hi int) {
	if e.KEM != nil {
		return e.MinWrapped - kemSecretSize - 16, e.MaxWrapped - kemSecretSize - 16
	}
	return e.MinWrapped, e.MaxWrapped
}

// EphemeralSeedSize is the size of the seed NewEphemeral takes.
const EphemeralSeedSize = 32

// NewEphemeral returns the key pair of an HPKE algorithm (Hybrid or
// X25519) made from a 32-byte seed, for one-use keys whose randomness the
// caller supplies: the X-Wing seed, or the X25519 private scalar. Its
// private key also implements KEMPrivate and its public key KEMPublic.
func (e *Exchange) NewEphemeral(seed []byte) (ExchangePrivate, error) {
	if len(seed) != EphemeralSeedSize {
		return nil, errors.New("ephemeral key seed must be 32 bytes")
	}
	switch e {
	case Hybrid:
		return exchangePrivate(newXWingPrivate(seed))
	case X25519:
		k, err := ecdh.X25519().NewPrivateKey(seed)
		if err != nil {
			return nil, err
		}
		return exchangePrivate(newX25519Private(k))
	}
	return nil, errors.New("no ephemeral keys of " + e.Name)
}
