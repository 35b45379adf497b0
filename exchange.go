package keyblob

import (
	"fmt"

	"github.com/keyblob/keyblob/internal/suite"
)

// ExchangeAlg identifies how session keys are wrapped to an exchange key
// (CryptoAPI's key exchange key pair).
type ExchangeAlg uint8

// Exchange algorithms. The numbers are part of every format; never reuse
// one. Each has one entry in the table of internal/suite.
const (
	ExchangeNone ExchangeAlg = 0
	// ExchangeHybrid (1) is HPKE with the MLKEM768-X25519 (X-Wing) KEM,
	// HKDF-SHA256 and AES-256-GCM: post-quantum and classical at once.
	ExchangeHybrid ExchangeAlg = suite.HybridID
	// ExchangeX25519 (2) is HPKE with DHKEM(X25519, HKDF-SHA256),
	// HKDF-SHA256 and AES-256-GCM.
	ExchangeX25519 ExchangeAlg = suite.X25519ID
	// ExchangeRSAOAEP (3) is RSA-OAEP with SHA-256 and MGF1-SHA256.
	ExchangeRSAOAEP ExchangeAlg = suite.RSAOAEPID
)

// String names the algorithm.
func (a ExchangeAlg) String() string {
	if a == ExchangeNone {
		return "none"
	}
	if s := suite.ExchangeByID(uint8(a)); s != nil {
		return s.Name
	}
	return fmt.Sprintf("unknown exchange algorithm %d", uint8(a))
}

// PostQuantum reports whether the algorithm resists quantum computers.
func (a ExchangeAlg) PostQuantum() bool {
	s := suite.ExchangeByID(uint8(a))
	return s != nil && s.PostQuantum
}

// wrappedSizeRange returns the allowed sizes of a wrapped 32-byte key.
func (a ExchangeAlg) wrappedSizeRange() (lo, hi int, ok bool) {
	s := suite.ExchangeByID(uint8(a))
	if s == nil {
		return 0, 0, false
	}
	return s.MinWrapped, s.MaxWrapped, true
}
