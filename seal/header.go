package seal

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"slices"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/format"
)

// Stanza types (spec/sealed.md, 1.2).
const (
	StanzaBlob       byte = 0x01
	StanzaPassphrase byte = 0x02
)

// Limits of spec/sealed.md, enforced before allocating.
const (
	MaxStanzas    = 1024
	maxHeaderSize = 2 << 20
	maxStanzaBody = 16 << 10
	nonceSize     = 16
	macSize       = sha256.Size
)

// A Stanza is one recipient entry of a header. Stanzas of unknown types
// are kept (they are covered by the MAC) but never used. A Stanza is
// read-only: only ReadHeader and the sealing path make one.
type Stanza struct {
	typ  byte
	body []byte
	blob *keyblob.KeyBlob // the parsed body of a StanzaBlob
	pass *passStanza      // the parsed body of a StanzaPassphrase
}

// Type returns the stanza type (StanzaBlob, StanzaPassphrase or unknown).
func (s Stanza) Type() byte { return s.typ }

// Body returns a copy of the stanza body.
func (s Stanza) Body() []byte { return bytes.Clone(s.body) }

// Blob returns the key blob of a StanzaBlob, nil for other types.
func (s Stanza) Blob() *keyblob.KeyBlob { return s.blob }

// A Header is the header of a sealed message. Its values are authenticated
// only once Open has verified the MAC.
//
// Only ReadHeader and the sealing path (Seal, NewWriter) make one; it is
// immutable (its accessors return copies), and the bytes the MAC covers
// are encoded once, from the same values the accessors return.
type Header struct {
	f   headerFields
	mac [macSize]byte

	raw       []byte // magic through nonce: what the MAC covers
	prefixLen int    // magic through sig-len: the passphrase stanza's AAD
}

// headerFields are the values of a header, in the order of spec/sealed.md.
// The type is unexported, so its fields are too: they keep the names the
// Header fields had, so that the code which checks them reads the same.
type headerFields struct {
	Created time.Time
	Expires time.Time          // zero: never
	Serial  keyblob.Serial     // the message's serial and its session key's
	Signer  *keyblob.Recipient // a signing-only Recipient; nil if unsigned
	SigLen  int                // size of the signature trailer
	Stanzas []Stanza
	Nonce   [nonceSize]byte
}

// Created returns the creation time, in whole seconds, UTC.
func (h *Header) Created() time.Time { return h.f.Created }

// Expires returns the expiry, or the zero time for never.
func (h *Header) Expires() time.Time { return h.f.Expires }

// Serial returns the message's serial, which is its session key's.
func (h *Header) Serial() keyblob.Serial { return h.f.Serial }

// Signer returns the sender's signing-only key, or nil if unsigned.
func (h *Header) Signer() *keyblob.Recipient { return h.f.Signer }

// SignatureSize returns the size of the signature trailer (sig-len), zero
// if unsigned.
func (h *Header) SignatureSize() int { return h.f.SigLen }

// Stanzas returns a copy of the list of stanzas.
func (h *Header) Stanzas() []Stanza { return slices.Clone(h.f.Stanzas) }

// Nonce returns the header nonce.
func (h *Header) Nonce() [nonceSize]byte { return h.f.Nonce }

// MAC returns the header MAC.
func (h *Header) MAC() [macSize]byte { return h.mac }

// Size returns the size of the encoded header, MAC included.
func (h *Header) Size() int { return len(h.raw) + macSize }

// Signed reports whether the message carries a sender signature.
func (h *Header) Signed() bool { return h.f.Signer != nil }

// Passphrase reports whether the message is sealed to a passphrase.
func (h *Header) Passphrase() bool {
	return len(h.f.Stanzas) == 1 && h.f.Stanzas[0].typ == StanzaPassphrase
}

// encodePrefix encodes magic through sig-len.
func (f *headerFields) encodePrefix() ([]byte, error) {
	var b cryptobyte.Builder
	b.AddBytes(format.Prefix(format.TypeSealed))
	b.AddUint64(uint64(f.Created.Unix()))
	b.AddUint64(unixOrZero(f.Expires))
	b.AddBytes(f.Serial[:])
	if f.Signer == nil {
		b.AddUint8(uint8(keyblob.SignatureNone))
		return b.Bytes()
	}
	b.AddUint8(uint8(f.Signer.SignatureAlg()))
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(f.Signer.SigningKeyBytes()) })
	b.AddUint16(uint16(f.SigLen))
	return b.Bytes()
}

func unixOrZero(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.Unix())
}

// encodeHeader makes the header of f, whose prefix encodePrefix returned,
// with its encoding (count, stanzas and nonce appended to the prefix) and
// no MAC yet. It is the one way the sealing path makes a header; the
// values of f are its own from then on.
func encodeHeader(f headerFields, prefix []byte) (*Header, error) {
	b := cryptobyte.NewBuilder(slices.Clip(prefix))
	b.AddUint16(uint16(len(f.Stanzas)))
	for _, s := range f.Stanzas {
		b.AddUint8(s.typ)
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(s.body) })
	}
	b.AddBytes(f.Nonce[:])
	raw, err := b.Bytes()
	if err != nil {
		return nil, err
	}
	return &Header{f: f, raw: raw, prefixLen: len(prefix)}, nil
}

// bytes returns the whole encoded header.
func (h *Header) bytes() []byte {
	return append(h.raw[:len(h.raw):len(h.raw)], h.mac[:]...)
}

// signedMessage is what the sender signature covers: the whole header and
// the digest of the sealed chunks (spec/sealed.md, 3).
func (h *Header) signedMessage(digest hash.Hash) []byte {
	return digest.Sum(h.bytes())
}

// macKey derives the header MAC key from the session key.
func macKey(key *keyblob.SessionKey) []byte {
	k, err := hkdf.Key(sha256.New, key.Bytes(), nil, "keyblob/v1 sealed header mac", 32)
	if err != nil {
		panic("seal: " + err.Error())
	}
	return k
}

// computeMAC returns the MAC of the header under the session key.
func (h *Header) computeMAC(key *keyblob.SessionKey) [macSize]byte {
	m := hmac.New(sha256.New, macKey(key))
	m.Write(h.raw)
	return [macSize]byte(m.Sum(nil))
}

// checkMAC compares the header's MAC in constant time.
func (h *Header) checkMAC(key *keyblob.SessionKey) bool {
	want := h.computeMAC(key)
	return hmac.Equal(want[:], h.mac[:])
}

// payloadKey derives the STREAM key of the payload.
func (h *Header) payloadKey(key *keyblob.SessionKey) []byte {
	k, err := hkdf.Key(sha256.New, key.Bytes(), h.f.Nonce[:], "keyblob/v1 sealed payload"+string(h.mac[:]), 32)
	if err != nil {
		panic("seal: " + err.Error())
	}
	return k
}

// ErrMalformed is returned for a header that is not exactly one canonical
// version 1 header (a header failure).
var ErrMalformed = fmt.Errorf("%w header", keyblob.ErrMalformed)

// headerReader reads header fields, keeping every byte read, and refuses
// to read past maxHeaderSize.
type headerReader struct {
	r   io.Reader
	raw []byte
	err error
}

func (hr *headerReader) read(n int) []byte {
	if hr.err != nil {
		return make([]byte, n)
	}
	if len(hr.raw)+n > maxHeaderSize {
		hr.err = fmt.Errorf("%w: over %d bytes", ErrMalformed, maxHeaderSize)
		return make([]byte, n)
	}
	start := len(hr.raw)
	hr.raw = append(hr.raw, make([]byte, n)...)
	if _, err := io.ReadFull(hr.r, hr.raw[start:]); err != nil {
		hr.err = hr.readError(err)
	}
	return hr.raw[start:]
}

func (hr *headerReader) readError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: truncated", ErrMalformed)
	}
	return err
}

func (hr *headerReader) u8() byte        { return hr.read(1)[0] }
func (hr *headerReader) u16() int        { return int(binary.BigEndian.Uint16(hr.read(2))) }
func (hr *headerReader) u64() uint64     { return binary.BigEndian.Uint64(hr.read(8)) }
func (hr *headerReader) fail(msg string) { hr.setErr(fmt.Errorf("%w: %s", ErrMalformed, msg)) }

func (hr *headerReader) setErr(err error) {
	if hr.err == nil {
		hr.err = err
	}
}

// ReadHeader reads and parses a header from r, leaving r at the payload.
// It checks every limit and rule of spec/sealed.md that needs no key.
func ReadHeader(r io.Reader) (*Header, error) {
	hr := &headerReader{r: r}
	magic := hr.read(format.HeaderSize)
	if hr.err == nil {
		if err := format.CheckPrefix(magic, format.TypeSealed, "sealed message"); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
	}
	h := &Header{}
	readTimes(hr, &h.f)
	copy(h.f.Serial[:], hr.read(16))
	readSigner(hr, &h.f)
	h.prefixLen = len(hr.raw)
	readStanzas(hr, &h.f)
	copy(h.f.Nonce[:], hr.read(nonceSize))
	mac := hr.read(macSize)
	if hr.err != nil {
		return nil, hr.err
	}
	copy(h.mac[:], mac)
	h.raw = hr.raw[:len(hr.raw)-macSize]
	return h, nil
}

func readTimes(hr *headerReader, h *headerFields) {
	created, expires := hr.u64(), hr.u64()
	if created > math.MaxInt64 || expires > math.MaxInt64 {
		hr.fail("time out of range")
		return
	}
	h.Created = time.Unix(int64(created), 0).UTC()
	if expires != 0 {
		if expires <= created {
			hr.fail("expiry not after creation")
		}
		h.Expires = time.Unix(int64(expires), 0).UTC()
	}
}

func readSigner(hr *headerReader, h *headerFields) {
	alg := keyblob.SignatureAlg(hr.u8())
	if alg == keyblob.SignatureNone || hr.err != nil {
		return
	}
	n := hr.u16()
	if n > keyblob.MaxSignerKey {
		hr.fail("signer key too long")
		return
	}
	raw := hr.read(n)
	h.SigLen = hr.u16()
	if hr.err != nil {
		return
	}
	signer, err := keyblob.ParseSigningKey(alg, raw)
	if err != nil {
		hr.setErr(fmt.Errorf("%w: signer: %w", ErrMalformed, err))
		return
	}
	if h.SigLen != signer.SignatureSize() {
		hr.fail("signature length does not fit the signer's key")
	}
	h.Signer = signer
}

func readStanzas(hr *headerReader, h *headerFields) {
	count := hr.u16()
	if hr.err == nil && (count < 1 || count > MaxStanzas) {
		hr.fail(fmt.Sprintf("%d stanzas (allowed 1 to %d)", count, MaxStanzas))
	}
	for i := 0; i < count && hr.err == nil; i++ {
		t := hr.u8()
		n := hr.u16()
		if n > maxStanzaBody {
			hr.fail("stanza too long")
			return
		}
		body := hr.read(n)
		if hr.err != nil {
			return
		}
		s, err := parseStanza(t, body, h)
		if err != nil {
			hr.setErr(err)
			return
		}
		h.Stanzas = append(h.Stanzas, s)
	}
	if hr.err == nil && len(h.Stanzas) > 1 && h.hasPassphrase() {
		hr.fail("a passphrase stanza must be the only stanza")
	}
}

func (h *headerFields) hasPassphrase() bool {
	for _, s := range h.Stanzas {
		if s.typ == StanzaPassphrase {
			return true
		}
	}
	return false
}

// parseStanza checks a known stanza's body against the header.
func parseStanza(t byte, body []byte, h *headerFields) (Stanza, error) {
	s := Stanza{typ: t, body: append([]byte(nil), body...)}
	switch t {
	case StanzaBlob:
		// The body is a binary key blob: ParseKeyBlob would also take the
		// armored form, a second encoding of the same stanza.
		if err := format.CheckPrefix(body, format.TypeBlob, "key blob"); err != nil {
			return s, fmt.Errorf("%w: recipient stanza: %w", ErrMalformed, err)
		}
		b, err := keyblob.ParseKeyBlob(body)
		if err != nil {
			return s, fmt.Errorf("%w: recipient stanza: %w", ErrMalformed, err)
		}
		if b.Signed() || b.Description() != "" || b.Serial() != h.Serial || !b.Created().Equal(h.Created) {
			return s, fmt.Errorf("%w: recipient stanza does not match the header", ErrMalformed)
		}
		s.blob = b
	case StanzaPassphrase:
		p, err := parsePassStanza(body)
		if err != nil {
			return s, err
		}
		s.pass = p
	}
	return s, nil
}
