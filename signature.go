package keyblob

import (
	"fmt"

	"github.com/keyblob/keyblob/internal/suite"
)

// SignatureAlg identifies a signature algorithm (CryptoAPI's signature key
// pair).
type SignatureAlg uint8

// Signature algorithms. The numbers are part of every format; never reuse
// one. Each has one entry in the table of internal/suite.
const (
	SignatureNone SignatureAlg = 0
	// SignatureEd25519 (1) is pure Ed25519.
	SignatureEd25519 SignatureAlg = suite.Ed25519ID
	// SignatureRSAPSS (2) is RSASSA-PSS with SHA-256, MGF1-SHA256 and a
	// 32-byte salt.
	SignatureRSAPSS SignatureAlg = suite.RSAPSSID
)

// String names the algorithm.
func (a SignatureAlg) String() string {
	if a == SignatureNone {
		return "none"
	}
	if s := suite.SignatureByID(uint8(a)); s != nil {
		return s.Name
	}
	return fmt.Sprintf("unknown signature algorithm %d", uint8(a))
}
