package keyblob

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"

	"github.com/keyblob/keyblob/internal/format"
)

// A KeyBlob is an exported session key (CryptExportKey's key blob): the
// session key wrapped to one exchange key, with the key's serial and
// algorithm, the time it was made, an optional description and, when it is
// signed, the signer's key and signature. The layout is spec/blob.md.
//
// Every field before the wrapped key, the signer's key and algorithm
// included, is bound into the wrap (HPKE info, or OAEP label), so none can
// be changed, added or stripped without the unwrap failing; the signature
// covers every byte before it. A KeyBlob holds no secret.
//
// Only Export and ParseKeyBlob make one, and both check every field rule
// of the spec first, so a KeyBlob is always valid; it is immutable (its
// accessors return copies) and safe for concurrent use. The zero value is
// not a blob: it marshals to nothing and imports to no key.
type KeyBlob struct {
	f   blobFields
	enc []byte // the encoding, made once by newKeyBlob
}

// blobFields are the fields of a key blob, in the order of spec/blob.md.
type blobFields struct {
	exchangeAlg ExchangeAlg // how the key is wrapped
	recipient   Fingerprint // the exchange key it is wrapped to
	sessionAlg  SessionAlg
	serial      Serial
	created     time.Time  // whole seconds, UTC
	description string     // at most MaxDescription bytes of printable UTF-8
	signerKey   *Recipient // a signing-only Recipient; nil if unsigned
	wrapped     []byte
	signature   []byte // present if and only if signerKey is
}

// newKeyBlob checks f and makes the blob of it with its encoding. It is the
// one way a KeyBlob is made.
func newKeyBlob(f blobFields) (*KeyBlob, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	var c cryptobyte.Builder
	f.signedPart(&c)
	if f.signerKey != nil {
		addVec16(&c, f.signature)
	}
	enc, err := c.Bytes()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedBlob, err)
	}
	return &KeyBlob{f: f, enc: enc}, nil
}

// MaxDescription is the longest description a blob may carry, in bytes.
const MaxDescription = 1024

// maxBlobSize bounds a whole blob, binary or armored.
const maxBlobSize = 16 << 10

// MaxSignerKey bounds the encoding of a signer's public key wherever one is
// carried (key blobs, sealed messages), in bytes.
const MaxSignerKey = 1024

// blobContext is the signature context of key blobs.
const blobContext = "key blob"

// wrapLabel is the prefix of the HPKE info and OAEP label of a wrap.
const wrapLabel = "keyblob/v1 key blob\x00"

// ErrMalformedBlob is returned for bytes that are not exactly one canonical
// key blob.
var ErrMalformedBlob = fmt.Errorf("%w key blob", ErrMalformed)

// ExchangeAlg returns how the session key is wrapped.
func (b *KeyBlob) ExchangeAlg() ExchangeAlg { return b.f.exchangeAlg }

// Recipient returns the fingerprint of the exchange key the session key is
// wrapped to.
func (b *KeyBlob) Recipient() Fingerprint { return b.f.recipient }

// SessionAlg returns the algorithm of the session key.
func (b *KeyBlob) SessionAlg() SessionAlg { return b.f.sessionAlg }

// Serial returns the serial of the session key.
func (b *KeyBlob) Serial() Serial { return b.f.serial }

// Created returns the creation time: whole seconds, in UTC.
func (b *KeyBlob) Created() time.Time { return b.f.created }

// Description returns the description, printable UTF-8 (see
// CheckDescription), or "".
func (b *KeyBlob) Description() string { return b.f.description }

// SignerKey returns the signature key (a signing-only Recipient) that
// signed the blob, or nil if it is unsigned. Who holds that key is for the
// caller to decide: see Verify.
func (b *KeyBlob) SignerKey() *Recipient { return b.f.signerKey }

// Signed reports whether the blob carries a signature.
func (b *KeyBlob) Signed() bool { return b.f.signerKey != nil }

// SignatureAlg returns the algorithm of the signature, or SignatureNone.
func (b *KeyBlob) SignatureAlg() SignatureAlg { return b.f.signatureAlg() }

// Signer returns the fingerprint of the signature key that signed the
// blob, or the zero Fingerprint if it is unsigned.
func (b *KeyBlob) Signer() Fingerprint {
	if b.f.signerKey == nil {
		return Fingerprint{}
	}
	return b.f.signerKey.SigningFingerprint()
}

// Marshal returns a copy of the binary encoding of the blob, made when
// the blob was.
func (b *KeyBlob) Marshal() []byte { return bytes.Clone(b.enc) }

func (f *blobFields) signatureAlg() SignatureAlg {
	if f.signerKey == nil {
		return SignatureNone
	}
	return f.signerKey.SignatureAlg()
}

// header appends the fields bound into the wrap: everything before the
// wrapped key.
func (f *blobFields) header(c *cryptobyte.Builder) {
	c.AddBytes(format.Prefix(format.TypeBlob))
	c.AddUint8(uint8(f.exchangeAlg))
	c.AddBytes(f.recipient[:])
	c.AddUint8(uint8(f.sessionAlg))
	c.AddBytes(f.serial[:])
	c.AddUint64(uint64(f.created.Unix()))
	addVec16(c, []byte(f.description))
	c.AddUint8(uint8(f.signatureAlg()))
	if f.signerKey != nil {
		addVec16(c, f.signerKey.SigningKeyBytes())
	}
}

// signedPart appends everything the signature covers: the header and the
// wrapped key.
func (f *blobFields) signedPart(c *cryptobyte.Builder) {
	f.header(c)
	addVec16(c, f.wrapped)
}

func addVec16(c *cryptobyte.Builder, v []byte) {
	c.AddUint16LengthPrefixed(func(c *cryptobyte.Builder) { c.AddBytes(v) })
}

// label returns the HPKE info / OAEP label that binds the header. f must
// have passed checkHeader, which bounds every length prefix, so the
// builder cannot fail.
func (f *blobFields) label() []byte {
	var c cryptobyte.Builder
	c.AddBytes([]byte(wrapLabel))
	f.header(&c)
	return c.BytesOrPanic()
}

// signedBytes returns what the signature covers. f must have passed
// checkHeader and have a wrapped key of a checked size.
func (f *blobFields) signedBytes() []byte {
	var c cryptobyte.Builder
	f.signedPart(&c)
	return c.BytesOrPanic()
}

// MarshalPEM returns the blob armored as a "KEYBLOB KEY BLOB" PEM block.
func (b *KeyBlob) MarshalPEM() []byte {
	return format.Armor(format.PEMBlob, b.Marshal())
}

// ParseKeyBlob reads a key blob, binary or armored. It accepts only the
// canonical encoding: known algorithms, exact sizes, a printable
// description, a valid signer key, and no trailing bytes. It checks no
// signature: Import and Verify do.
func ParseKeyBlob(data []byte) (*KeyBlob, error) {
	if len(data) > maxBlobSize {
		return nil, fmt.Errorf("%w: over %d bytes", ErrMalformedBlob, maxBlobSize)
	}
	if format.IsArmored(data) {
		body, err := format.Unarmor(data, format.PEMBlob)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformedBlob, err)
		}
		data = body
	}
	if err := format.CheckPrefix(data, format.TypeBlob, "key blob"); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedBlob, err)
	}
	f, err := decodeBlob(cryptobyte.String(data[format.HeaderSize:]))
	if err != nil {
		return nil, err
	}
	return newKeyBlob(f)
}

func decodeBlob(s cryptobyte.String) (blobFields, error) {
	var f blobFields
	var exAlg, sessAlg, sigAlg uint8
	var recipient, serial, desc []byte
	var created uint64
	if !s.ReadUint8(&exAlg) || !s.ReadBytes(&recipient, 32) || !s.ReadUint8(&sessAlg) ||
		!s.ReadBytes(&serial, 16) || !s.ReadUint64(&created) ||
		!readVec16(&s, &desc) || !s.ReadUint8(&sigAlg) {
		return f, ErrMalformedBlob
	}
	if created > math.MaxInt64 {
		return f, fmt.Errorf("%w: creation time out of range", ErrMalformedBlob)
	}
	f.exchangeAlg, f.sessionAlg = ExchangeAlg(exAlg), SessionAlg(sessAlg)
	copy(f.recipient[:], recipient)
	copy(f.serial[:], serial)
	f.created = time.Unix(int64(created), 0).UTC()
	f.description = string(desc)
	if err := f.decodeSigner(&s, SignatureAlg(sigAlg)); err != nil {
		return f, err
	}
	if !readVec16(&s, &f.wrapped) || (f.signerKey != nil && !readVec16(&s, &f.signature)) {
		return f, ErrMalformedBlob
	}
	if !s.Empty() {
		return f, fmt.Errorf("%w: trailing data", ErrMalformedBlob)
	}
	return f, nil
}

// decodeSigner reads the signer key of a signed blob.
func (f *blobFields) decodeSigner(s *cryptobyte.String, alg SignatureAlg) error {
	if alg == SignatureNone {
		return nil
	}
	var raw []byte
	if !readVec16(s, &raw) {
		return ErrMalformedBlob
	}
	if len(raw) > MaxSignerKey {
		return fmt.Errorf("%w: signer key over %d bytes", ErrMalformedBlob, MaxSignerKey)
	}
	signer, err := ParseSigningKey(alg, raw)
	if err != nil {
		return fmt.Errorf("%w: signer: %w", ErrMalformedBlob, err)
	}
	f.signerKey = signer
	return nil
}

func readVec16(s *cryptobyte.String, out *[]byte) bool {
	var v cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&v) {
		return false
	}
	*out = append([]byte(nil), v...)
	return true
}

// check enforces the field rules of spec/blob.md.
func (f *blobFields) check() error {
	lo, hi, ok := f.exchangeAlg.wrappedSizeRange()
	switch {
	case !ok:
		return fmt.Errorf("%w: %s", ErrMalformedBlob, f.exchangeAlg)
	case len(f.wrapped) < lo || len(f.wrapped) > hi:
		return fmt.Errorf("%w: wrapped key of %d bytes for %s", ErrMalformedBlob, len(f.wrapped), f.exchangeAlg)
	}
	if err := f.checkHeaderFields(); err != nil {
		return err
	}
	return f.checkSignature()
}

// checkHeader enforces the rules of the fields before the wrapped key, so
// that they may be encoded (label) before there is a wrapped key.
func (f *blobFields) checkHeader() error {
	if _, _, ok := f.exchangeAlg.wrappedSizeRange(); !ok {
		return fmt.Errorf("%w: %s", ErrMalformedBlob, f.exchangeAlg)
	}
	return f.checkHeaderFields()
}

// checkHeaderFields checks the header fields after the exchange algorithm.
func (f *blobFields) checkHeaderFields() error {
	switch {
	case f.sessionAlg != SessionAES256GCM:
		return fmt.Errorf("%w: %s", ErrMalformedBlob, f.sessionAlg)
	case f.created.Unix() < 0 || f.created.Nanosecond() != 0:
		return fmt.Errorf("%w: creation time must be whole seconds after 1970", ErrMalformedBlob)
	}
	if err := CheckDescription(f.description); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformedBlob, err)
	}
	return f.checkSigner()
}

func (f *blobFields) checkSigner() error {
	switch {
	case f.signerKey == nil:
		return nil
	case !f.signerKey.CanVerify() || f.signerKey.CanExchange():
		return fmt.Errorf("%w: the signer must be a signature key alone", ErrMalformedBlob)
	case len(f.signerKey.SigningKeyBytes()) > MaxSignerKey:
		return fmt.Errorf("%w: signer key over %d bytes", ErrMalformedBlob, MaxSignerKey)
	}
	return nil
}

func (f *blobFields) checkSignature() error {
	switch {
	case f.signerKey == nil && len(f.signature) != 0:
		return fmt.Errorf("%w: a signature without a signer key", ErrMalformedBlob)
	case f.signerKey != nil && len(f.signature) != f.signerKey.SignatureSize():
		return fmt.Errorf("%w: a signature of %d bytes for a %s key that makes %d", ErrMalformedBlob,
			len(f.signature), f.signatureAlg(), f.signerKey.SignatureSize())
	}
	return nil
}

// CheckDescription reports whether s may be a blob description: at most
// MaxDescription bytes of valid UTF-8 without control characters, format
// characters (bidirectional overrides, zero-width characters) or line and
// paragraph separators, so that a description shown by inspect or key list
// cannot disguise itself or what follows it.
func CheckDescription(s string) error {
	switch {
	case len(s) > MaxDescription:
		return fmt.Errorf("description is %d bytes, over %d", len(s), MaxDescription)
	case !utf8.ValidString(s):
		return errors.New("description is not valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) {
			return fmt.Errorf("description contains the invisible or control character %U", r)
		}
	}
	return nil
}
