package keyblob

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"
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

// Kinds lists the kinds GenerateIdentity accepts, the default first.
var Kinds = []string{KindHybrid, KindX25519, KindRSA2048, KindRSA3072, KindRSA4096}

// Keys read from files may play only one role. Such identities have the
// kind of that key followed by one of these suffixes.
const (
	suffixExchangeOnly = "-exchange"
	suffixSigningOnly  = "-signing"
)

// GenerateIdentity makes a new identity of the given kind, one of Kinds.
// The empty kind means KindHybrid.
func GenerateIdentity(kind string) (*Identity, error) {
	switch kind {
	case "", KindHybrid:
		seed := make([]byte, xwingSeedSize)
		rand.Read(seed)
		ex, err := newXWingPrivate(seed)
		return withEd25519(ex, err)
	case KindX25519:
		k, err := ecdh.X25519().GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("keyblob: %w", err)
		}
		return withEd25519(newX25519Private(k))
	case KindRSA2048, KindRSA3072, KindRSA4096:
		var bits int
		fmt.Sscanf(kind, "rsa-%d", &bits)
		return generateRSA(bits)
	}
	return nil, fmt.Errorf("keyblob: unknown identity kind %q (want one of %s)", kind, strings.Join(Kinds, ", "))
}

// withEd25519 pairs an exchange key with a new Ed25519 signature key.
func withEd25519(ex *hpkePrivate, err error) (*Identity, error) {
	if err != nil {
		return nil, fmt.Errorf("keyblob: %w", err)
	}
	_, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("keyblob: %w", err)
	}
	return newIdentity(ex, &ed25519Private{sk})
}

// generateRSA makes an identity of two RSA keys: one to exchange, one to sign.
func generateRSA(bits int) (*Identity, error) {
	ex, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, fmt.Errorf("keyblob: %w", err)
	}
	sig, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, fmt.Errorf("keyblob: %w", err)
	}
	return newIdentity(&rsaPrivate{ex}, &rsaPSSPrivate{sig})
}

// kindOf names the kind of a pair of public keys, either of which may be
// nil, and rejects combinations keyblob does not define.
func kindOf(ex exchangePublic, sig signingPublic) (string, error) {
	switch {
	case ex == nil && sig == nil:
		return "", errors.New("keyblob: no key")
	case sig == nil:
		return exchangeName(ex) + suffixExchangeOnly, nil
	case ex == nil:
		return signingName(sig) + suffixSigningOnly, nil
	}
	exName, sigName := exchangeName(ex), signingName(sig)
	switch {
	case ex.alg() == ExchangeHybrid && sig.alg() == SignatureEd25519:
		return KindHybrid, nil
	case ex.alg() == ExchangeX25519 && sig.alg() == SignatureEd25519:
		return KindX25519, nil
	case ex.alg() == ExchangeRSAOAEP && sig.alg() == SignatureRSAPSS && exName == sigName:
		return exName, nil
	}
	return "", fmt.Errorf("keyblob: unsupported key pair: a %s exchange key with a %s signature key", exName, sigName)
}

func exchangeName(ex exchangePublic) string {
	switch ex.alg() {
	case ExchangeHybrid:
		return KindHybrid
	case ExchangeX25519:
		return KindX25519
	}
	return fmt.Sprintf("rsa-%d", ex.bits())
}

func signingName(sig signingPublic) string {
	if sig.alg() == SignatureEd25519 {
		return "ed25519"
	}
	return fmt.Sprintf("rsa-%d", sig.bits())
}
