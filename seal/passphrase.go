package seal

import (
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
	passWrappedSize = keyblob.SessionKeySize + password.Overhead
	passStanzaSize  = password.EncodedSize + passWrappedSize
	passAADPrefix   = "keyblob/v1 sealed passphrase"
)

// ErrPassphrase is returned when a passphrase does not unwrap the message
// (or the header was modified). It is password.ErrPassphrase, the module's
// one passphrase failure, named here for callers of seal.
var ErrPassphrase = password.ErrPassphrase

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

// passAAD binds the wrap to the header prefix.
func passAAD(prefix []byte) []byte {
	return append([]byte(passAADPrefix), prefix...)
}

// newPassStanza wraps the session key under the passphrase. params' salt
// must be new (addStanzas takes it from password.New): password.Seal uses a
// fixed nonce.
func newPassStanza(passphrase []byte, params password.Params, key *keyblob.SessionKey, prefix []byte) (*passStanza, error) {
	wrapped, err := params.Seal(passphrase, password.SealedStanza, key.Bytes(), passAAD(prefix))
	if err != nil {
		return nil, err
	}
	return &passStanza{params: params, wrapped: wrapped}, nil
}

// unwrap returns the session key bytes, or ErrPassphrase.
func (p *passStanza) unwrap(passphrase, prefix []byte) ([]byte, error) {
	return p.params.Open(passphrase, password.SealedStanza, p.wrapped, passAAD(prefix))
}
