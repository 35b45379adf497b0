package api

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"testing"

	"github.com/keyblob/keyblob"
)

// Seeds of the test authority's keys: each key's private key is
// SHA-256 of its string, so the vectors' authority is the same on every
// machine and with every Go version.
const (
	logX25519Seed  = "keyblob/v1 tlog vectors: the authority's X25519 key"
	logEd25519Seed = "keyblob/v1 tlog vectors: the authority's Ed25519 key"
)

// logIdentity returns the deterministic authority of the log vectors and
// fuzz targets: an x25519 identity (X25519 exchange key, Ed25519
// signature key) made from logX25519Seed and logEd25519Seed.
func logIdentity(t testing.TB) *keyblob.Identity {
	t.Helper()
	return identityFromSeeds(t, logX25519Seed, logEd25519Seed)
}

// identityFromSeeds returns the identity whose X25519 private key is
// SHA-256 of xSeed and whose Ed25519 private key (its RFC 8032 seed) is
// SHA-256 of edSeed, read as keyblob reads identity files.
func identityFromSeeds(t testing.TB, xSeed, edSeed string) *keyblob.Identity {
	t.Helper()
	xs := sha256.Sum256([]byte(xSeed))
	es := sha256.Sum256([]byte(edSeed))
	x, err := ecdh.X25519().NewPrivateKey(xs[:])
	if err != nil {
		t.Fatal(err)
	}
	var file []byte
	for _, k := range []any{x, ed25519.NewKeyFromSeed(es[:])} {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		file = append(file, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})...)
	}
	id, err := keyblob.ParseIdentity(file)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// LogIdentity exports logIdentity to the package's external tests.
var LogIdentity = logIdentity
