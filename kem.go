package keyblob

import (
	"bytes"
	"fmt"

	"github.com/keyblob/keyblob/internal/suite"
)

// The KEM view of identities and recipients, toolkit API for protocols
// that need a shared secret with a recipient rather than a wrapped session
// key (the channel package's handshakes use it, through the same methods).
// Every exchange algorithm is a KEM (spec/channel.md section 4.1): HPKE's
// export of "keyblob/v1 kem secret" for the HPKE kinds, a random secret
// sent with RSA-OAEP-SHA256 (info as the label) for RSA. The info is the
// protocol's domain separation: give each protocol and each role in it
// its own constant prefix. An info starting as a key blob's label
// ("keyblob/v1 key blob") is refused, so that a decapsulation never
// unwraps a key blob (see checkLabel).

// Encapsulate returns a fresh encapsulated key to r's exchange key and the
// 32-byte secret it carries, bound to info. It returns ErrCannotExchange
// if r has no exchange key, and an error for an info that starts as a key
// blob's label. It is safe for concurrent use.
func (r *Recipient) Encapsulate(info []byte) (enc, secret []byte, err error) {
	if r.exchange == nil {
		return nil, nil, ErrCannotExchange
	}
	if err := checkLabel(info); err != nil {
		return nil, nil, err
	}
	k, ok := suite.KEMPublicOf(r.exchange)
	if !ok {
		return nil, nil, fmt.Errorf("%s keys are no KEM", r.exchange.Suite().Name)
	}
	return k.Encapsulate(info)
}

// Decapsulate returns the secret of an Encapsulate to the identity's
// exchange key with the same info. Any failure of a well-formed call is
// one error that says nothing of its cause, so a protocol should go on
// with a random secret and fail at its own key confirmation (implicit
// rejection, as the channel handshakes do). It returns ErrCannotExchange
// if the identity has no exchange key, and an error for an info that
// starts as a key blob's label. It is safe for concurrent use.
func (id *Identity) Decapsulate(enc, info []byte) ([]byte, error) {
	if id.exchange == nil {
		return nil, ErrCannotExchange
	}
	if err := checkLabel(info); err != nil {
		return nil, err
	}
	k, ok := suite.KEMPrivateOf(id.exchange)
	if !ok {
		return nil, fmt.Errorf("%s keys are no KEM", id.exchange.Public().Suite().Name)
	}
	return k.Decapsulate(enc, info)
}

// ExchangeKeyBytes returns the canonical encoding of the exchange key
// (spec/blob.md section 3.1), or nil if r has none. ParseExchangeKey reads
// it back.
func (r *Recipient) ExchangeKeyBytes() []byte {
	if r.exchange == nil {
		return nil
	}
	return bytes.Clone(r.exchange.Bytes())
}

// ParseExchangeKey returns the exchange-only recipient of an exchange key
// in its canonical encoding, as ExchangeKeyBytes returns it. Malformed
// keys are ErrMalformedRecipient.
func ParseExchangeKey(alg ExchangeAlg, raw []byte) (*Recipient, error) {
	if alg == ExchangeNone {
		return nil, fmt.Errorf("%w: no exchange algorithm", ErrMalformedRecipient)
	}
	ex, err := decodeExchangePublic(alg, raw)
	if err != nil {
		return nil, err
	}
	return newRecipient(ex, nil)
}
