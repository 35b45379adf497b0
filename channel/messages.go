package channel

import (
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Handshake messages (spec/channel.md sections 3.1 and 4.2): marshal and
// strict unmarshal, no I/O. A parser accepts exactly what the marshaler
// makes: every field, no trailing bytes. Sizes that depend on keys are
// checked by the handshake step that knows the keys.

// Type bytes of the v2 messages.
const (
	typePhase1 = 0x01
	typePhase2 = 0x02
	typePhase3 = 0x03
)

// confirmSize is the size of a v2 key confirmation.
const confirmSize = 32

// phase1 is the v2 client's first message.
type phase1 struct {
	eAlg uint8
	ePub []byte
	sAlg uint8
	encS []byte
	cAlg uint8
	cPub []byte
}

func (m *phase1) marshal() []byte {
	var b cryptobyte.Builder
	b.AddUint8(typePhase1)
	b.AddUint8(m.eAlg)
	addBytes16(&b, m.ePub)
	b.AddUint8(m.sAlg)
	addBytes16(&b, m.encS)
	b.AddUint8(m.cAlg)
	addBytes16(&b, m.cPub)
	return b.BytesOrPanic()
}

func parsePhase1(msg []byte) (*phase1, error) {
	s := cryptobyte.String(msg)
	var m phase1
	var typ uint8
	var ePub, encS, cPub cryptobyte.String
	if !s.ReadUint8(&typ) || typ != typePhase1 {
		return nil, unexpectedMessage("phase 1", msg)
	}
	if !s.ReadUint8(&m.eAlg) || !s.ReadUint16LengthPrefixed(&ePub) ||
		!s.ReadUint8(&m.sAlg) || !s.ReadUint16LengthPrefixed(&encS) ||
		!s.ReadUint8(&m.cAlg) || !s.ReadUint16LengthPrefixed(&cPub) || !s.Empty() {
		return nil, errMalformed("phase 1")
	}
	m.ePub, m.encS, m.cPub = ePub, encS, cPub
	if (m.sAlg == 0) != (len(m.encS) == 0) || (m.cAlg == 0) != (len(m.cPub) == 0) {
		return nil, errMalformed("phase 1 (a key without its algorithm, or the reverse)")
	}
	return &m, nil
}

// phase2 is the v2 server's message.
type phase2 struct {
	encE, encC []byte
	confirm    []byte
}

// marshalBody returns m2', the message without its confirmation.
func (m *phase2) marshalBody() []byte {
	var b cryptobyte.Builder
	b.AddUint8(typePhase2)
	addBytes16(&b, m.encE)
	addBytes16(&b, m.encC)
	return b.BytesOrPanic()
}

func (m *phase2) marshal() []byte { return append(m.marshalBody(), m.confirm...) }

func parsePhase2(msg []byte) (*phase2, error) {
	s := cryptobyte.String(msg)
	var m phase2
	var typ uint8
	var encE, encC cryptobyte.String
	if !s.ReadUint8(&typ) || typ != typePhase2 {
		return nil, unexpectedMessage("phase 2", msg)
	}
	if !s.ReadUint16LengthPrefixed(&encE) || !s.ReadUint16LengthPrefixed(&encC) ||
		!s.ReadBytes(&m.confirm, confirmSize) || !s.Empty() {
		return nil, errMalformed("phase 2")
	}
	m.encE, m.encC = encE, encC
	return &m, nil
}

// phase3 is the v2 client's confirmation.
type phase3 struct{ confirm []byte }

func (m *phase3) marshal() []byte { return append([]byte{typePhase3}, m.confirm...) }

func parsePhase3(msg []byte) (*phase3, error) {
	s := cryptobyte.String(msg)
	var m phase3
	var typ uint8
	if !s.ReadUint8(&typ) || typ != typePhase3 {
		return nil, unexpectedMessage("phase 3", msg)
	}
	if !s.ReadBytes(&m.confirm, confirmSize) || !s.Empty() {
		return nil, errMalformed("phase 3")
	}
	return &m, nil
}

// unexpectedMessage is the error for a message of the wrong type, which
// names what the message looks like when that helps: a v2 end talking to
// a seed end gets DER or records.
func unexpectedMessage(want string, msg []byte) error {
	switch {
	case len(msg) > 0 && msg[0] == 0x30:
		return errMalformed(want + " (got DER: does the peer use the seed profile?)")
	case len(msg) > 0 && msg[0] <= typeClientCertificate:
		return errProtocol("unexpected message (want " + want + ")")
	}
	return errMalformed(want)
}

// seedHello is the seed server's hello: its key's DER, the certificate
// chain of a server that has one (a DER SEQUENCE OF Certificate,
// spec/channel.md section 3.9), and an optional signature.
type seedHello struct {
	der, chain, sig []byte
}

func (m *seedHello) marshal() []byte {
	return append(append(append([]byte(nil), m.der...), m.chain...), m.sig...)
}

// marshalSeedChain makes the hello's chain: SEQUENCE OF Certificate.
func marshalSeedChain(chain [][]byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, c := range chain {
			b.AddBytes(c)
		}
	})
	return b.BytesOrPanic()
}

// splitSeedChain reads the chain that follows the key in the hello of a
// certified server: 1 to 8 DER certificates in one SEQUENCE. It returns
// the certificates and what follows (the signature).
func splitSeedChain(rest []byte) ([][]byte, []byte, error) {
	s := cryptobyte.String(rest)
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) {
		return nil, nil, errMalformed("seed hello (no certificate chain after the key)")
	}
	var chain [][]byte
	for !seq.Empty() {
		var c cryptobyte.String
		if !seq.ReadASN1Element(&c, cbasn1.SEQUENCE) || len(chain) == maxChainCerts {
			return nil, nil, errMalformed("seed hello (certificate chain)")
		}
		chain = append(chain, c)
	}
	if len(chain) == 0 {
		return nil, nil, errMalformed("seed hello (empty certificate chain)")
	}
	return chain, s, nil
}

// parseSeedHello splits the hello after the key's outer DER SEQUENCE.
func parseSeedHello(msg []byte) (*seedHello, error) {
	s := cryptobyte.String(msg)
	var der cryptobyte.String
	if !s.ReadASN1Element(&der, cbasn1.SEQUENCE) {
		return nil, errMalformed("seed server key (not one DER SEQUENCE)")
	}
	return &seedHello{der: der, sig: s}, nil
}

func addBytes16(b *cryptobyte.Builder, v []byte) {
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(v) })
}
