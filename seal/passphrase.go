package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/password"
)

// passStanza is a passphrase stanza (spec/sealed.md, 1.3): Argon2id
// parameters and the session key wrapped under the derived key.
type passStanza struct {
	params  password.Params
	wrapped []byte
}

const (
	passWrappedSize = keyblob.SessionKeySize + 16
	passStanzaSize  = password.EncodedSize + passWrappedSize
	passAADPrefix   = "keyblob/v1 sealed passphrase"
)

// ErrPassphrase is returned when a passphrase does not unwrap the message.
var ErrPassphrase = errors.New("seal: wrong passphrase")

func parsePassStanza(body []byte) (*passStanza, error) {
	if len(body) != passStanzaSize {
		return nil, fmt.Errorf("%w: passphrase stanza of %d bytes", ErrMalformed, len(body))
	}
	s := cryptobyte.String(body)
	params, err := password.Read(&s)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return &passStanza{params: params, wrapped: []byte(s)}, nil
}

func (p *passStanza) encode() []byte {
	var b cryptobyte.Builder
	p.params.Append(&b)
	b.AddBytes(p.wrapped)
	return b.BytesOrPanic()
}

// passAEAD derives the wrapping AEAD from the passphrase.
func passAEAD(params password.Params, passphrase []byte) (cipher.AEAD, error) {
	k, err := params.Key(passphrase, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// passAAD binds the wrap to the header prefix.
func passAAD(prefix []byte) []byte {
	return append([]byte(passAADPrefix), prefix...)
}

// The nonce is all zeros: the key comes from a fresh random salt, so it is
// never used twice.
var zeroNonce [12]byte

func newPassStanza(passphrase []byte, params password.Params, key *keyblob.SessionKey, prefix []byte) (*passStanza, error) {
	aead, err := passAEAD(params, passphrase)
	if err != nil {
		return nil, err
	}
	wrapped := aead.Seal(nil, zeroNonce[:], key.Bytes(), passAAD(prefix))
	return &passStanza{params: params, wrapped: wrapped}, nil
}

// unwrap returns the session key bytes, or ErrPassphrase.
func (p *passStanza) unwrap(passphrase, prefix []byte) ([]byte, error) {
	aead, err := passAEAD(p.params, passphrase)
	if err != nil {
		return nil, err
	}
	key, err := aead.Open(nil, zeroNonce[:], p.wrapped, passAAD(prefix))
	if err != nil {
		return nil, ErrPassphrase
	}
	return key, nil
}
