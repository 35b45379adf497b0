package keyblob

import (
	"bytes"
	"errors"
	"fmt"
)

// SecretSize is the size of a secret WrapSecret wraps: that of a session
// key.
const SecretSize = SessionKeySize

// errBlobLabel refuses a label or KEM info that could be a key blob's.
var errBlobLabel = errors.New("a wrap label or KEM info must not start as a key blob's")

// WrapSecret wraps a 32-byte secret to the exchange key of to, bound to
// label, exactly as Export wraps a session key (spec/blob.md section 3.1:
// the label is the HPKE info or the OAEP label), for protocols that send a
// secret that is not a session key (the escrow protocol's sealed recovery
// code). A label starting with the key blob label ("keyblob/v1 key blob")
// is refused, so that a wrapped secret can never pass for a key blob's
// wrapped key. It returns ErrCannotExchange if to has no exchange key.
func WrapSecret(to *Recipient, secret, label []byte) ([]byte, error) {
	if err := checkSecretWrap(len(secret), label); err != nil {
		return nil, err
	}
	if !to.CanExchange() {
		return nil, ErrCannotExchange
	}
	return to.exchange.Wrap(secret, label)
}

// UnwrapSecret reverses WrapSecret with the identity's exchange key and
// the same label. Every failure to unwrap, and a result that is not 32
// bytes, is ErrAuth.
func (id *Identity) UnwrapSecret(wrapped, label []byte) ([]byte, error) {
	if err := checkSecretWrap(SecretSize, label); err != nil {
		return nil, err
	}
	if !id.CanExchange() {
		return nil, ErrCannotExchange
	}
	secret, err := id.exchange.Unwrap(wrapped, label)
	if err != nil || len(secret) != SecretSize {
		return nil, ErrAuth
	}
	return secret, nil
}

func checkSecretWrap(n int, label []byte) error {
	if n != SecretSize {
		return fmt.Errorf("a wrapped secret is %d bytes, not %d", SecretSize, n)
	}
	return checkLabel(label)
}

// checkLabel refuses a wrap label or KEM info that starts as a key blob's
// (wrapLabel, without its final zero byte). An RSA-OAEP decryption with a
// key blob's label is that blob's unwrap, so without this refusal
// UnwrapSecret or Decapsulate would hand out a blob's session key without
// the signature check and the recipient check of Import.
func checkLabel(label []byte) error {
	if bytes.HasPrefix(label, []byte(wrapLabel[:len(wrapLabel)-1])) {
		return errBlobLabel
	}
	return nil
}
