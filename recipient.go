package keyblob

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"hash/crc64"
	"strings"

	"golang.org/x/crypto/cryptobyte"

	"github.com/keyblob/keyblob/internal/format"
	"github.com/keyblob/keyblob/internal/suite"
)

// A Recipient is the public half of an Identity: the exchange key session
// keys are wrapped to, and the signature key that verifies its signatures.
// Either may be absent (see Identity). A Recipient is immutable and safe
// for concurrent use.
type Recipient struct {
	exchange suite.ExchangePublic
	signing  suite.SigningPublic
	kind     string
}

// RecipientPrefix starts every recipient line.
const RecipientPrefix = "keyblob:"

// maxRecipientLine bounds the length of one recipient line.
const maxRecipientLine = 8 << 10

func newRecipient(ex suite.ExchangePublic, sig suite.SigningPublic) (*Recipient, error) {
	kind, err := kindOf(ex, sig)
	if err != nil {
		return nil, err
	}
	return &Recipient{exchange: ex, signing: sig, kind: kind}, nil
}

// Kind returns the kind: one of Kinds() for a full identity, or a key name
// with the suffix "-exchange" or "-signing" for a single-role one.
func (r *Recipient) Kind() string { return r.kind }

// CanExchange reports whether session keys can be wrapped to r.
func (r *Recipient) CanExchange() bool { return r.exchange != nil }

// CanVerify reports whether r has a signature key.
func (r *Recipient) CanVerify() bool { return r.signing != nil }

// ExchangeAlg returns the exchange algorithm, or ExchangeNone.
func (r *Recipient) ExchangeAlg() ExchangeAlg {
	if r.exchange == nil {
		return ExchangeNone
	}
	return ExchangeAlg(r.exchange.Suite().ID)
}

// SignatureAlg returns the signature algorithm, or SignatureNone.
func (r *Recipient) SignatureAlg() SignatureAlg {
	if r.signing == nil {
		return SignatureNone
	}
	return SignatureAlg(r.signing.Suite().ID)
}

// ExchangeFingerprint returns the fingerprint of the exchange key, or the
// zero Fingerprint if there is none. Key blobs name it.
func (r *Recipient) ExchangeFingerprint() Fingerprint {
	if r.exchange == nil {
		return Fingerprint{}
	}
	return exchangeFingerprint(r.exchange)
}

// SigningFingerprint returns the fingerprint of the signature key, or the
// zero Fingerprint if there is none. Signed objects name it.
func (r *Recipient) SigningFingerprint() Fingerprint {
	if r.signing == nil {
		return Fingerprint{}
	}
	return signingFingerprint(r.signing)
}

// Fingerprint returns the fingerprint that stands for the recipient: that
// of its exchange key, or of its signature key if it only signs.
func (r *Recipient) Fingerprint() Fingerprint {
	if r.exchange != nil {
		return r.ExchangeFingerprint()
	}
	return r.SigningFingerprint()
}

// Equal reports whether r and o hold the same public keys.
func (r *Recipient) Equal(o *Recipient) bool {
	return r.ExchangeFingerprint() == o.ExchangeFingerprint() &&
		r.SigningFingerprint() == o.SigningFingerprint()
}

// Verify checks a signature made by Identity.Sign in the same context. Any
// failure, including a recipient without a signature key, is ErrAuth.
func (r *Recipient) Verify(context string, msg, sig []byte) error {
	if r.signing == nil || !r.signing.Verify(signedMessage(context, msg), sig) {
		return ErrAuth
	}
	return nil
}

// sameRSAKey reports whether one key plays both roles, as an RSA key
// read from a file does: the two algorithms use the same kind of key and
// the keys are equal.
func (r *Recipient) sameRSAKey() bool {
	return r.exchange != nil && r.signing != nil && r.exchange.Suite().Key == r.signing.Suite().Key &&
		bytes.Equal(r.exchange.Bytes(), r.signing.Bytes())
}

// String returns the recipient line (spec/blob.md section 6.2): the text
// "keyblob:", the kind, ":", and the unpadded base64url of the binary
// encoding, then ":" and the checksum of that text.
func (r *Recipient) String() string {
	var b cryptobyte.Builder
	addKey(&b, uint8(r.ExchangeAlg()), r.exchange)
	addKey(&b, uint8(r.SignatureAlg()), r.signing)
	text := RecipientPrefix + r.kind + ":" + base64.RawURLEncoding.EncodeToString(b.BytesOrPanic())
	return text + ":" + lineChecksum(text)
}

func addKey(b *cryptobyte.Builder, alg uint8, k interface{ Bytes() []byte }) {
	b.AddUint8(alg)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		if alg != 0 {
			b.AddBytes(k.Bytes())
		}
	})
}

// MarshalPEM returns the public keys as SubjectPublicKeyInfo "PUBLIC KEY"
// blocks, exchange key first, as `openssl pkey -pubin` reads them.
func (r *Recipient) MarshalPEM() ([]byte, error) {
	var keys []interface{ MarshalPKIX() ([]byte, error) }
	if r.exchange != nil {
		keys = append(keys, r.exchange)
	}
	if r.signing != nil && !r.sameRSAKey() {
		keys = append(keys, r.signing)
	}
	var buf bytes.Buffer
	for _, k := range keys {
		der, err := k.MarshalPKIX()
		if err != nil {
			return nil, err
		}
		pem.Encode(&buf, &pem.Block{Type: format.PEMPublicKey, Bytes: der})
	}
	return buf.Bytes(), nil
}

// ParseRecipient reads one recipient: a recipient line, or a PEM file of
// one or two "PUBLIC KEY" blocks (the rules of ParseIdentity apply).
// Blank lines and '#' comments are allowed around either.
func ParseRecipient(data []byte) (*Recipient, error) {
	rs, err := ParseRecipients(data)
	if err != nil {
		return nil, err
	}
	switch {
	case len(rs) == 0:
		return nil, fmt.Errorf("%w recipient: the file holds no recipient", ErrMalformed)
	case len(rs) > 1:
		return nil, fmt.Errorf("%w (%d), where one is wanted", ErrSeveralRecipients, len(rs))
	}
	return rs[0], nil
}

// MaxRecipients is the most recipients a recipients file holds: as many as
// a sealed message takes.
const MaxRecipients = 1024

// MaxRecipientsFileSize bounds a recipients file: MaxRecipients lines of
// a recipient line's greatest length (maxRecipientLine, over four times
// the longest kind's), room for comments and blank lines included.
const MaxRecipientsFileSize = MaxRecipients * maxRecipientLine

// ErrSeveralRecipients is returned by ParseRecipient for a file that holds
// more than one recipient.
var ErrSeveralRecipients = errors.New("the file holds several recipients")

// ParseRecipients reads a recipients file: a PEM public key file (one
// recipient), or recipient lines, one per line, with blank lines and lines
// starting with '#' ignored. It is bounded by MaxRecipientsFileSize,
// MaxRecipients recipients and maxRecipientLine bytes a line, each checked
// before the lines are parsed.
func ParseRecipients(data []byte) ([]*Recipient, error) {
	if len(data) > MaxRecipientsFileSize {
		return nil, fmt.Errorf("recipients file over %d MiB", MaxRecipientsFileSize>>20)
	}
	if bytes.Contains(data, []byte("-----BEGIN ")) {
		if len(data) > maxKeyFileSize {
			return nil, fmt.Errorf("public key file over %d bytes", maxKeyFileSize)
		}
		r, err := parsePublicPEM(data)
		if err != nil {
			return nil, err
		}
		return []*Recipient{r}, nil
	}
	lines := strings.Split(string(data), "\n")
	if err := checkRecipientLines(lines); err != nil {
		return nil, err
	}
	var rs []*Recipient
	for i, line := range lines {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		r, err := ParseRecipientLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// checkRecipientLines bounds the lines of a recipients file before any is
// parsed: each line's length, and the number of recipient lines.
func checkRecipientLines(lines []string) error {
	n := 0
	for i, line := range lines {
		if len(line) > maxRecipientLine {
			return fmt.Errorf("line %d: over %d bytes, longer than any recipient line", i+1, maxRecipientLine)
		}
		if line = strings.TrimSpace(line); line != "" && line[0] != '#' {
			n++
		}
	}
	if n > MaxRecipients {
		return fmt.Errorf("%d recipients, at most %d", n, MaxRecipients)
	}
	return nil
}

func parsePublicPEM(data []byte) (*Recipient, error) {
	ders, err := pemBlocks(data, format.PEMPublicKey)
	if err != nil {
		return nil, err
	}
	keys := make([]keyRoles[suite.ExchangePublic, suite.SigningPublic], len(ders))
	for i, der := range ders {
		if keys[i].exchange, keys[i].signing, err = suite.ParsePKIX(der); err != nil {
			return nil, err
		}
	}
	ex, sig, err := assignRoles(keys)
	if err != nil {
		return nil, err
	}
	return newRecipient(ex, sig)
}

// ErrMalformedRecipient is returned for a recipient line that does not
// decode to exactly one canonical recipient.
var ErrMalformedRecipient = fmt.Errorf("%w recipient line", ErrMalformed)

// ErrRecipientChecksum is returned for a recipient line whose checksum does
// not match the rest of the line: a character was changed, added, dropped
// or swapped, as a typo or a bad copy does. It is not ErrMalformed: the
// line has the right shape, and asking for it again is what helps.
var ErrRecipientChecksum = errors.New("the recipient line has a typo: its checksum does not match; copy it again")

// checksumChars is the length of a line's checksum field: 8 bytes of
// CRC-64 in unpadded base64url.
const checksumChars = 11

// crcTable is CRC-64/XZ's table (the ECMA-182 polynomial, reflected).
var crcTable = crc64.MakeTable(crc64.ECMA)

// lineChecksum returns the checksum field of a line's text: the
// big-endian CRC-64/XZ of the text, in unpadded base64url. A CRC of
// degree 64 detects every change confined to 64 consecutive bits, so
// any change of up to eight adjacent characters (one substituted, two
// swapped) with certainty; other changes (a character added or dropped)
// pass with probability 2^-64. It guards against typos, not forgery.
func lineChecksum(text string) string {
	return base64.RawURLEncoding.EncodeToString(binary.BigEndian.AppendUint64(nil, crc64.Checksum([]byte(text), crcTable)))
}

// ParseRecipientLine parses the String form of a Recipient. A line whose
// checksum does not match is ErrRecipientChecksum, checked before anything
// else; otherwise it accepts only the canonical encoding: the kind must
// match the keys, and the base64 and the key encodings must be canonical,
// with no trailing bytes.
func ParseRecipientLine(line string) (*Recipient, error) {
	text, err := checkLineChecksum(line)
	if err != nil {
		return nil, err
	}
	kind, b64, ok := strings.Cut(strings.TrimPrefix(text, RecipientPrefix), ":")
	if !ok {
		return nil, ErrMalformedRecipient
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(b64)
	// The decoder skips CR and LF; only the canonical text is accepted.
	if err != nil || base64.RawURLEncoding.EncodeToString(raw) != b64 {
		return nil, ErrMalformedRecipient
	}
	r, err := decodeRecipient(raw)
	if err != nil {
		return nil, err
	}
	if r.kind != kind {
		return nil, fmt.Errorf("%w: it says kind %q but holds %q keys", ErrMalformedRecipient, kind, r.kind)
	}
	return r, nil
}

// checkLineChecksum splits a line at its last ':' into its text and its
// checksum field, and returns the text if the field is the text's
// checksum. A line "keyblob:KIND:BODY" has no checksum at all: it is
// malformed, not a typo, unless it is a line whose last ':' was dropped
// or replaced (lostSeparator).
func checkLineChecksum(line string) (string, error) {
	rest, ok := strings.CutPrefix(line, RecipientPrefix)
	switch {
	case !ok:
		return "", fmt.Errorf("%w: it does not start with %q", ErrMalformedRecipient, RecipientPrefix)
	case len(line) > maxRecipientLine || !strings.Contains(rest, ":"):
		return "", ErrMalformedRecipient
	}
	i := strings.LastIndexByte(line, ':')
	text, sum := line[:i], line[i+1:]
	switch {
	case sum == lineChecksum(text):
		return text, nil
	case strings.Count(rest, ":") == 1 && len(sum) != checksumChars && !lostSeparator(line):
		return "", fmt.Errorf("%w: it has no checksum (a line ends in \":\" and %d checksum characters)", ErrMalformedRecipient, checksumChars)
	}
	return "", ErrRecipientChecksum
}

// lostSeparator reports whether line is a line with a checksum whose last
// ':' was dropped or replaced by another character: its last characters
// are the checksum of what precedes them, without or with the character
// in front of them.
func lostSeparator(line string) bool {
	j := len(line) - checksumChars
	if j <= len(RecipientPrefix) {
		return false
	}
	return line[j:] == lineChecksum(line[:j]) || line[j:] == lineChecksum(line[:j-1])
}

func decodeRecipient(raw []byte) (*Recipient, error) {
	s := cryptobyte.String(raw)
	var exAlg, sigAlg uint8
	var exRaw, sigRaw cryptobyte.String
	if !s.ReadUint8(&exAlg) || !s.ReadUint16LengthPrefixed(&exRaw) ||
		!s.ReadUint8(&sigAlg) || !s.ReadUint16LengthPrefixed(&sigRaw) || !s.Empty() {
		return nil, ErrMalformedRecipient
	}
	ex, err := decodeExchangePublic(ExchangeAlg(exAlg), exRaw)
	if err != nil {
		return nil, err
	}
	sig, err := decodeSigningPublic(SignatureAlg(sigAlg), sigRaw)
	if err != nil {
		return nil, err
	}
	return newRecipient(ex, sig)
}

// decodeExchangePublic decodes the key of a recipient's exchange field
// with the table entry of alg; ExchangeNone stands for no key.
func decodeExchangePublic(alg ExchangeAlg, raw []byte) (suite.ExchangePublic, error) {
	s := suite.ExchangeByID(uint8(alg))
	switch {
	case alg == ExchangeNone && len(raw) == 0:
		return nil, nil
	case s == nil || (s.PublicSize != 0 && len(raw) != s.PublicSize):
		return nil, fmt.Errorf("%w: bad exchange key (%s, %d bytes)", ErrMalformedRecipient, alg, len(raw))
	}
	p, err := s.ParsePublic(raw)
	if err != nil {
		return nil, malformedKey(err)
	}
	return p, nil
}

// decodeSigningPublic is decodeExchangePublic for signature keys.
func decodeSigningPublic(alg SignatureAlg, raw []byte) (suite.SigningPublic, error) {
	s := suite.SignatureByID(uint8(alg))
	switch {
	case alg == SignatureNone && len(raw) == 0:
		return nil, nil
	case s == nil || (s.PublicSize != 0 && len(raw) != s.PublicSize):
		return nil, fmt.Errorf("%w: bad signature key (%s, %d bytes)", ErrMalformedRecipient, alg, len(raw))
	}
	p, err := s.ParsePublic(raw)
	if err != nil {
		return nil, malformedKey(err)
	}
	return p, nil
}

// malformedKey makes a key the table refuses as malformed an
// ErrMalformedRecipient; other errors (an RSA key of an unsupported size)
// keep their own text.
func malformedKey(err error) error {
	if m, ok := errors.AsType[*suite.MalformedError](err); ok {
		return fmt.Errorf("%w: %s", ErrMalformedRecipient, m.Reason)
	}
	return err
}

// SigningKeyBytes returns a copy of the canonical encoding of the
// signature key (spec/blob.md), or nil if r has none. ParseSigningKey
// reads it back.
func (r *Recipient) SigningKeyBytes() []byte {
	if r.signing == nil {
		return nil
	}
	return bytes.Clone(r.signing.Bytes())
}

// SignatureSize returns the size of every signature r's key makes, or 0 if
// r has no signature key.
func (r *Recipient) SignatureSize() int {
	if r.signing == nil {
		return 0
	}
	return r.signing.SignatureSize()
}

// signingOnly returns the signing-only recipient of r's signature key, as
// a blob or message carries it; r must have one.
func (r *Recipient) signingOnly() *Recipient {
	if r.signing == nil {
		panic("keyblob: signingOnly of a recipient without a signature key")
	}
	return &Recipient{signing: r.signing, kind: signingName(r.signing) + suffixSigningOnly}
}

// ParseSigningKey returns the signing-only recipient of a signature key in
// its canonical encoding, as SigningKeyBytes returns it, for formats that
// carry a signer's key (sealed messages, key blobs). It checks what
// ParseRecipientLine checks of a signature key; the key says nothing of who
// holds it, so compare its SigningFingerprint with a key you trust.
// Malformed keys are ErrMalformedRecipient.
func ParseSigningKey(alg SignatureAlg, raw []byte) (*Recipient, error) {
	if alg == SignatureNone {
		return nil, fmt.Errorf("%w: no signature algorithm", ErrMalformedRecipient)
	}
	sig, err := decodeSigningPublic(alg, raw)
	if err != nil {
		return nil, err
	}
	return newRecipient(nil, sig)
}
