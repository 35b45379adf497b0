package keyblob

import (
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/keyblob/keyblob/internal/format"
	"github.com/keyblob/keyblob/internal/suite"
)

// An Identity is CryptoAPI's key container: an exchange key pair, which
// receives wrapped session keys, and a signature key pair, which signs.
// An identity read from a single standard key may hold only one of them:
// an X25519 key only exchanges, an Ed25519 key only signs, and one RSA key
// does both.
//
// An Identity is immutable and safe for concurrent use. Go cannot promise
// to erase private keys from memory; treat the process as holding them.
type Identity struct {
	exchange  suite.ExchangePrivate
	signing   suite.SigningPrivate
	recipient *Recipient
}

// ErrCannotExchange is returned when an identity without an exchange key
// is asked to receive a session key.
var ErrCannotExchange = errors.New("this identity has no exchange key (it can only sign)")

// ErrCannotSign is returned when an identity without a signature key is
// asked to sign.
var ErrCannotSign = errors.New("this identity has no signature key (it can only receive)")

func newIdentity(ex suite.ExchangePrivate, sig suite.SigningPrivate) (*Identity, error) {
	var exPub suite.ExchangePublic
	var sigPub suite.SigningPublic
	if ex != nil {
		exPub = ex.Public()
	}
	if sig != nil {
		sigPub = sig.Public()
	}
	r, err := newRecipient(exPub, sigPub)
	if err != nil {
		return nil, err
	}
	return &Identity{exchange: ex, signing: sig, recipient: r}, nil
}

// Recipient returns the public half of the identity.
func (id *Identity) Recipient() *Recipient { return id.recipient }

// Kind returns the kind of the identity, as Recipient.Kind.
func (id *Identity) Kind() string { return id.recipient.Kind() }

// CanExchange reports whether the identity can receive session keys.
func (id *Identity) CanExchange() bool { return id.exchange != nil }

// CanSign reports whether the identity can sign.
func (id *Identity) CanSign() bool { return id.signing != nil }

// Sign signs msg in the given context (see Recipient.Verify). It returns
// ErrCannotSign if the identity has no signature key.
func (id *Identity) Sign(context string, msg []byte) ([]byte, error) {
	if id.signing == nil {
		return nil, ErrCannotSign
	}
	return id.signing.Sign(signedMessage(context, msg))
}

// signedMessage is what a signature in a context covers: a domain
// separator, the context and the message, so that a signature made for one
// purpose is never valid for another.
func signedMessage(context string, msg []byte) []byte {
	if bytes.IndexByte([]byte(context), 0) >= 0 {
		panic("keyblob: signature context contains NUL")
	}
	out := make([]byte, 0, 32+len(context)+len(msg))
	out = append(out, "keyblob/v1 signature\x00"...)
	out = append(out, context...)
	out = append(out, 0)
	return append(out, msg...)
}

// MarshalPEM returns the identity file: comment lines naming the kind and
// fingerprints, then the exchange key and the signature key as PKCS #8
// "PRIVATE KEY" blocks, in that order (one block when one RSA key plays
// both roles). openssl reads each block as a standard private key.
func (id *Identity) MarshalPEM() ([]byte, error) {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# keyblob identity, kind %s\n", id.Kind())
	fmt.Fprintf(&buf, "# fingerprint: %s\n", id.recipient.Fingerprint())
	for _, k := range id.privateKeys() {
		der, err := k.MarshalPKCS8()
		if err != nil {
			return nil, err
		}
		pem.Encode(&buf, &pem.Block{Type: format.PEMPrivateKey, Bytes: der})
	}
	return buf.Bytes(), nil
}

// privateKeys lists the distinct keys of the identity in file order.
func (id *Identity) privateKeys() []interface{ MarshalPKCS8() ([]byte, error) } {
	var keys []interface{ MarshalPKCS8() ([]byte, error) }
	if id.exchange != nil {
		keys = append(keys, id.exchange)
	}
	if id.signing != nil && !id.recipient.sameRSAKey() {
		keys = append(keys, id.signing)
	}
	return keys
}

// ParseIdentity reads an identity file: one or two PKCS #8 "PRIVATE KEY"
// PEM blocks, with only blank lines and '#' comments around them. One key
// plays every role it can; of two, the first must be the exchange key and
// the second the signature key. Keys made by `openssl genpkey -algorithm
// X25519|ED25519|RSA` are accepted; encrypted PEM is not.
func ParseIdentity(data []byte) (*Identity, error) {
	if len(data) > maxKeyFileSize {
		return nil, fmt.Errorf("identity file over %d bytes", maxKeyFileSize)
	}
	ders, err := pemBlocks(data, format.PEMPrivateKey)
	if err != nil {
		return nil, err
	}
	keys := make([]keyRoles[suite.ExchangePrivate, suite.SigningPrivate], len(ders))
	for i, der := range ders {
		if keys[i].exchange, keys[i].signing, err = suite.ParsePKCS8(der); err != nil {
			return nil, err
		}
	}
	ex, sig, err := assignRoles(keys)
	if err != nil {
		return nil, err
	}
	return newIdentity(ex, sig)
}
