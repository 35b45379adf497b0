package keyblob

import (
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
// Every field before Wrapped, the signer's key and algorithm included, is
// bound into the wrap (HPKE info, or OAEP label), so none can be changed,
// added or stripped without the unwrap failing; the signature covers every
// byte before it. A KeyBlob holds no secret. The zero value is not a valid
// blob; use Export or ParseKeyBlob.
type KeyBlob struct {
	ExchangeAlg ExchangeAlg // how the key is wrapped
	Recipient   Fingerprint // the exchange key it is wrapped to
	SessionAlg  SessionAlg
	Serial      Serial
	Created     time.Time // whole seconds, UTC
	Description string    // at most MaxDescription bytes of printable UTF-8
	// SignerKey is the signature key (a signing-only Recipient) that
	// signed the blob, or nil if it is unsigned.
	SignerKey *Recipient
	Wrapped   []byte
	Signature []byte // present if and only if SignerKey is
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
var ErrMalformedBlob = errors.New("keyblob: malformed key blob")

// Signed reports whether the blob carries a signature.
func (b *KeyBlob) Signed() bool { return b.SignerKey != nil }

// SignatureAlg returns the algorithm of the signature, or SignatureNone.
func (b *KeyBlob) SignatureAlg() SignatureAlg {
	if b.SignerKey == nil {
		return SignatureNone
	}
	return b.SignerKey.SignatureAlg()
}

// Signer returns the fingerprint of the signature key that signed the
// blob, or the zero Fingerprint if it is unsigned.
func (b *KeyBlob) Signer() Fingerprint {
	if b.SignerKey == nil {
		return Fingerprint{}
	}
	return b.SignerKey.SigningFingerprint()
}

// header appends the fields bound into the wrap: everything before Wrapped.
func (b *KeyBlob) header(c *cryptobyte.Builder) {
	c.AddBytes(format.Prefix(format.TypeBlob))
	c.AddUint8(uint8(b.ExchangeAlg))
	c.AddBytes(b.Recipient[:])
	c.AddUint8(uint8(b.SessionAlg))
	c.AddBytes(b.Serial[:])
	c.AddUint64(uint64(b.Created.Unix()))
	addVec16(c, []byte(b.Description))
	c.AddUint8(uint8(b.SignatureAlg()))
	if b.Signed() {
		addVec16(c, b.SignerKey.SigningKeyBytes())
	}
}

// signedPart appends everything the signature covers: the header and the
// wrapped key.
func (b *KeyBlob) signedPart(c *cryptobyte.Builder) {
	b.header(c)
	addVec16(c, b.Wrapped)
}

func addVec16(c *cryptobyte.Builder, v []byte) {
	c.AddUint16LengthPrefixed(func(c *cryptobyte.Builder) { c.AddBytes(v) })
}

// label returns the HPKE info / OAEP label that binds the header.
func (b *KeyBlob) label() []byte {
	var c cryptobyte.Builder
	c.AddBytes([]byte(wrapLabel))
	b.header(&c)
	return c.BytesOrPanic()
}

func (b *KeyBlob) signedBytes() []byte {
	var c cryptobyte.Builder
	b.signedPart(&c)
	return c.BytesOrPanic()
}

// Marshal returns the binary encoding of the blob. It panics if the blob
// does not satisfy the limits that ParseKeyBlob enforces.
func (b *KeyBlob) Marshal() []byte {
	if err := b.check(); err != nil {
		panic(err)
	}
	var c cryptobyte.Builder
	b.signedPart(&c)
	if b.Signed() {
		addVec16(&c, b.Signature)
	}
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
	b, err := decodeBlob(cryptobyte.String(data[format.HeaderSize:]))
	if err != nil {
		return nil, err
	}
	if err := b.check(); err != nil {
		return nil, err
	}
	return b, nil
}

func decodeBlob(s cryptobyte.String) (*KeyBlob, error) {
	b := &KeyBlob{}
	var exAlg, sessAlg, sigAlg uint8
	var recipient, serial, desc []byte
	var created uint64
	if !s.ReadUint8(&exAlg) || !s.ReadBytes(&recipient, 32) || !s.ReadUint8(&sessAlg) ||
		!s.ReadBytes(&serial, 16) || !s.ReadUint64(&created) ||
		!readVec16(&s, &desc) || !s.ReadUint8(&sigAlg) {
		return nil, ErrMalformedBlob
	}
	if created > math.MaxInt64 {
		return nil, fmt.Errorf("%w: creation time out of range", ErrMalformedBlob)
	}
	b.ExchangeAlg, b.SessionAlg = ExchangeAlg(exAlg), SessionAlg(sessAlg)
	copy(b.Recipient[:], recipient)
	copy(b.Serial[:], serial)
	b.Created = time.Unix(int64(created), 0).UTC()
	b.Description = string(desc)
	if err := b.decodeSigner(&s, SignatureAlg(sigAlg)); err != nil {
		return nil, err
	}
	if !readVec16(&s, &b.Wrapped) || (b.Signed() && !readVec16(&s, &b.Signature)) {
		return nil, ErrMalformedBlob
	}
	if !s.Empty() {
		return nil, fmt.Errorf("%w: trailing data", ErrMalformedBlob)
	}
	return b, nil
}

// decodeSigner reads the signer key of a signed blob.
func (b *KeyBlob) decodeSigner(s *cryptobyte.String, alg SignatureAlg) error {
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
	b.SignerKey = signer
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
func (b *KeyBlob) check() error {
	lo, hi, ok := b.ExchangeAlg.wrappedSizeRange()
	switch {
	case !ok:
		return fmt.Errorf("%w: %s", ErrMalformedBlob, b.ExchangeAlg)
	case len(b.Wrapped) < lo || len(b.Wrapped) > hi:
		return fmt.Errorf("%w: wrapped key of %d bytes for %s", ErrMalformedBlob, len(b.Wrapped), b.ExchangeAlg)
	case b.SessionAlg != SessionAES256GCM:
		return fmt.Errorf("%w: %s", ErrMalformedBlob, b.SessionAlg)
	case b.Created.Unix() < 0 || b.Created.Nanosecond() != 0:
		return fmt.Errorf("%w: creation time must be whole seconds after 1970", ErrMalformedBlob)
	}
	if err := CheckDescription(b.Description); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformedBlob, err)
	}
	return b.checkSignature()
}

func (b *KeyBlob) checkSignature() error {
	switch {
	case !b.Signed() && len(b.Signature) != 0:
		return fmt.Errorf("%w: a signature without a signer key", ErrMalformedBlob)
	case !b.Signed():
		return nil
	case !b.SignerKey.CanVerify() || b.SignerKey.CanExchange():
		return fmt.Errorf("%w: the signer must be a signature key alone", ErrMalformedBlob)
	case len(b.SignerKey.SigningKeyBytes()) > MaxSignerKey:
		return fmt.Errorf("%w: signer key over %d bytes", ErrMalformedBlob, MaxSignerKey)
	case len(b.Signature) != b.SignerKey.SignatureSize():
		return fmt.Errorf("%w: a signature of %d bytes for a %s key that makes %d", ErrMalformedBlob,
			len(b.Signature), b.SignatureAlg(), b.SignerKey.SignatureSize())
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
