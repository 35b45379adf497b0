// Package suite holds keyblob's algorithm tables, as crypto/tls keeps its
// cipher suites: one Exchange entry per exchange algorithm and one
// Signature entry per signature algorithm, each with everything the
// formats need to know about it, looked up by the format's ID. Each
// algorithm's code is one file (hybrid.go, x25519.go, rsa.go, ed25519.go,
// rsapss.go); adding an algorithm is one entry and one file.
//
// The package knows keys and the operations on them (wrap and unwrap,
// encapsulate and decapsulate, sign and verify, the standard PKIX and
// PKCS #8 encodings), never keyblob's objects, so that any package of the
// module (keyblob, channel) can use the tables directly. Errors carry no
// package prefix, as all of the module's library errors.
package suite

import (
	"crypto/hpke"
	"fmt"
)

// Format IDs of the exchange and signature algorithms. They are part of
// every format (spec/blob.md); never reuse one.
const (
	HybridID  = 1 // Hybrid
	X25519ID  = 2 // X25519
	RSAOAEPID = 3 // RSAOAEP

	Ed25519ID = 1 // Ed25519
	RSAPSSID  = 2 // RSAPSS
)

// An Exchange is one exchange algorithm: how a 32-byte session key is
// wrapped to a public key (CryptoAPI's key exchange key pair). Entries are
// immutable; compare them by pointer.
type Exchange struct {
	ID   uint8
	Name string // as keyblob.ExchangeAlg.String returns it
	// Key is the short name of its keys ("hybrid", "rsa"); see KeyName.
	Key         string
	PostQuantum bool
	// PublicSize is the size of the canonical public key encoding, or 0
	// if it depends on the key (RSA).
	PublicSize int
	// MinWrapped and MaxWrapped bound the size of a wrapped 32-byte key.
	MinWrapped, MaxWrapped int
	// KEM is the HPKE KEM of the algorithm, nil if it is not HPKE. Its
	// keys then also implement KEMPublic and KEMPrivate.
	KEM hpke.KEM
	// ParsePublic decodes the canonical public key encoding. A refused
	// encoding is a *MalformedError; a key of an unsupported size is
	// another error.
	ParsePublic func(raw []byte) (ExchangePublic, error)
	// FromPKIX returns the key of a SubjectPublicKeyInfo der, which
	// crypto/x509 decoded to key (nil if it could not), or nil, nil if
	// the key is not one of this algorithm.
	FromPKIX func(der []byte, key any) (ExchangePublic, error)
	// FromPKCS8 is FromPKIX for PKCS #8 private keys.
	FromPKCS8 func(der []byte, key any) (ExchangePrivate, error)
	// Generate makes a new key pair; bits is the size of keys that have
	// one (RSA) and is ignored otherwise.
	Generate func(bits int) (ExchangePrivate, error)
}

// A Signature is one signature algorithm (CryptoAPI's signature key
// pair). Entries are immutable; compare them by pointer.
type Signature struct {
	ID   uint8
	Name string // as keyblob.SignatureAlg.String returns it
	// Key is the short name of its keys ("ed25519", "rsa"); see KeyName.
	Key string
	// PublicSize is as for Exchange.
	PublicSize int
	// ParsePublic, FromPKIX, FromPKCS8 and Generate are as for Exchange.
	ParsePublic func(raw []byte) (SigningPublic, error)
	FromPKIX    func(der []byte, key any) (SigningPublic, error)
	FromPKCS8   func(der []byte, key any) (SigningPrivate, error)
	Generate    func(bits int) (SigningPrivate, error)
}

// exchanges and signatures are the tables, in ID order.
var (
	exchanges  = []*Exchange{Hybrid, X25519, RSAOAEP}
	signatures = []*Signature{Ed25519, RSAPSS}
)

// ExchangeByID returns the exchange algorithm with the given ID, or nil.
func ExchangeByID(id uint8) *Exchange {
	for _, e := range exchanges {
		if e.ID == id {
			return e
		}
	}
	return nil
}

// SignatureByID returns the signature algorithm with the given ID, or nil.
func SignatureByID(id uint8) *Signature {
	for _, s := range signatures {
		if s.ID == id {
			return s
		}
	}
	return nil
}

// Exchanges returns every exchange algorithm, in ID order, in a new slice.
func Exchanges() []*Exchange { return append([]*Exchange(nil), exchanges...) }

// Signatures returns every signature algorithm, in ID order, in a new
// slice.
func Signatures() []*Signature { return append([]*Signature(nil), signatures...) }

// KeyName names a key of the given algorithm key name and size: the name
// alone for keys without a size (bits 0), else name and bits, "rsa-2048".
func KeyName(key string, bits int) string {
	if bits == 0 {
		return key
	}
	return fmt.Sprintf("%s-%d", key, bits)
}

// A MalformedError says that an encoding is not the canonical encoding of
// a valid key. Its text is the reason alone: keyblob wraps it in the
// sentinel error of the object being read.
type MalformedError struct{ Reason string }

func (e *MalformedError) Error() string { return e.Reason }

func malformed(reason string) error { return &MalformedError{reason} }
