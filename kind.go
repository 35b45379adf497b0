package keyblob

import (
	"errors"
	"fmt"
	"strings"

	"github.com/keyblob/keyblob/internal/suite"
)

// Kinds of identity that GenerateIdentity makes.
const (
	// KindHybrid exchanges with MLKEM768-X25519 HPKE and signs with Ed25519.
	KindHybrid = "hybrid"
	// KindX25519 exchanges with X25519 HPKE and signs with Ed25519.
	KindX25519 = "x25519"
	// KindRSA2048 and its siblings exchange with RSA-OAEP-SHA256 and sign
	// with RSA-PSS, each with its own RSA key of that size.
	KindRSA2048 = "rsa-2048"
	KindRSA3072 = "rsa-3072"
	KindRSA4096 = "rsa-4096"
)

// A kind is one pair of algorithms an identity may hold. A kind is named
// after its exchange key (suite.KeyName). Kinds with a key size (bits not
// 0) stand for a family: keys read from files may have any supported
// size, the same for both roles, and are named with theirs ("rsa-2560").
type kind struct {
	name      string
	exchange  *suite.Exchange
	signature *suite.Signature
	bits      int // the size of the keys GenerateIdentity makes; 0 if keys have none
}

// kinds is the table, the default first.
var kinds = []kind{
	{KindHybrid, suite.Hybrid, suite.Ed25519, 0},
	{KindX25519, suite.X25519, suite.Ed25519, 0},
	{KindRSA2048, suite.RSAOAEP, suite.RSAPSS, 2048},
	{KindRSA3072, suite.RSAOAEP, suite.RSAPSS, 3072},
	{KindRSA4096, suite.RSAOAEP, suite.RSAPSS, 4096},
}

// Kinds returns the kinds GenerateIdentity accepts, the default first, in
// a new slice.
func Kinds() []string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = k.name
	}
	return names
}

// Keys read from files may play only one role. Such identities have the
// kind of that key followed by one of these suffixes.
const (
	suffixExchangeOnly = "-exchange"
	suffixSigningOnly  = "-signing"
)

// GenerateIdentity makes a new identity of the given kind, one of Kinds().
// The empty kind means KindHybrid.
func GenerateIdentity(name string) (*Identity, error) {
	if name == "" {
		name = KindHybrid
	}
	for _, k := range kinds {
		if k.name == name {
			return k.generate()
		}
	}
	return nil, fmt.Errorf("unknown identity kind %q (want one of %s)", name, strings.Join(Kinds(), ", "))
}

// generate makes the exchange key, then the signature key.
func (k *kind) generate() (*Identity, error) {
	ex, err := k.exchange.Generate(k.bits)
	if err != nil {
		return nil, err
	}
	sig, err := k.signature.Generate(k.bits)
	if err != nil {
		return nil, err
	}
	return newIdentity(ex, sig)
}

// kindOf names the kind of a pair of public keys, either of which may be
// nil, and rejects combinations keyblob does not define.
func kindOf(ex suite.ExchangePublic, sig suite.SigningPublic) (string, error) {
	switch {
	case ex == nil && sig == nil:
		return "", errors.New("no key")
	case sig == nil:
		return exchangeName(ex) + suffixExchangeOnly, nil
	case ex == nil:
		return signingName(sig) + suffixSigningOnly, nil
	}
	exName, sigName := exchangeName(ex), signingName(sig)
	for _, k := range kinds {
		if k.exchange == ex.Suite() && k.signature == sig.Suite() && (k.bits == 0 || exName == sigName) {
			return exName, nil
		}
	}
	return "", fmt.Errorf("unsupported key pair: a %s exchange key with a %s signature key", exName, sigName)
}

func exchangeName(ex suite.ExchangePublic) string { return suite.KeyName(ex.Suite().Key, ex.Bits()) }

func signingName(sig suite.SigningPublic) string { return suite.KeyName(sig.Suite().Key, sig.Bits()) }
