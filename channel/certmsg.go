package channel

import (
	"errors"

	"github.com/keyblob/keyblob"

	"golang.org/x/crypto/cryptobyte"
)

// The v2 certificate messages (spec/channel.md section 4.8): a client
// that knows the server only by a CA asks for its chain first; a client
// with a certificate sends its chain before phase 1.

const (
	typeCertRequest       = 0x04
	typeServerCertificate = 0x05
	typeClientCertificate = 0x06
)

// Bounds of a certificate message.
const (
	maxChainCerts = 8
	// v2MaxCertMessage bounds a certificate message's frame: chains of
	// hybrid identities (whose recipient lines the certificates carry)
	// are a few KiB each.
	v2MaxCertMessage = 32 << 10
)

// ErrCertificate is wrapped by the error of a peer whose certificate
// chain was refused (the reason follows: expired, wrong name, unknown
// authority, revoked...), and of a peer whose handshake proved another
// key than its certificate names.
var ErrCertificate = errors.New("peer certificate refused")

// A Certified is a peer a certificate chain vouched for: the recipient
// its leaf carries and the name it was verified for.
type Certified struct {
	Recipient *keyblob.Recipient
	Name      string
}

// marshalCertificate makes a certificate message of typ: u24 of the
// chain, each certificate a u24 of its DER, leaf first.
func marshalCertificate(typ uint8, chain [][]byte) []byte {
	var b cryptobyte.Builder
	b.AddUint8(typ)
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, c := range chain {
			b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(c) })
		}
	})
	return b.BytesOrPanic()
}

// parseCertificate reads a certificate message of typ: 1 to 8
// certificates, none empty, nothing after.
func parseCertificate(typ uint8, msg []byte) ([][]byte, error) {
	s := cryptobyte.String(msg)
	var got uint8
	var list cryptobyte.String
	if !s.ReadUint8(&got) || got != typ {
		return nil, unexpectedMessage("certificate", msg)
	}
	if !s.ReadUint24LengthPrefixed(&list) || !s.Empty() {
		return nil, errMalformed("certificate message")
	}
	var chain [][]byte
	for !list.Empty() {
		var c cryptobyte.String
		if !list.ReadUint24LengthPrefixed(&c) || len(c) == 0 || len(chain) == maxChainCerts {
			return nil, errMalformed("certificate message (chain)")
		}
		chain = append(chain, c)
	}
	if len(chain) == 0 {
		return nil, errMalformed("certificate message (no certificate)")
	}
	return chain, nil
}
