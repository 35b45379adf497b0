// Package format holds the encodings shared by every keyblob format: the
// magic that starts each binary object, strict PEM armor, and bounded reads.
//
// Every binary keyblob object starts with the four ASCII bytes "kblb", one
// type byte and one version byte. The type bytes are listed here so that no
// two formats ever share one; spec/blob.md section 2 is the normative
// list.
package format

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Magic is the first four bytes of every binary keyblob object.
const Magic = "kblb"

// Type bytes of the binary objects.
const (
	TypeBlob       byte = 'b' // key blob, spec/blob.md
	TypeEncrypted  byte = 'e' // file encrypted with a session key, spec/stream.md
	TypeIdentity   byte = 'i' // stored (encrypted) identity, spec/keystore.md
	TypeSessionKey byte = 'k' // session key body, spec/blob.md
	TypeSealed     byte = 's' // sealed message, spec/sealed.md
)

// Version1 is the only version defined for every type.
const Version1 byte = 1

// HeaderSize is the size of the magic, type and version prefix.
const HeaderSize = len(Magic) + 2

// ErrUnsupportedVersion is returned for a known object of an unknown version.
var ErrUnsupportedVersion = errors.New("unsupported format version")

// Prefix returns the six-byte prefix of an object of type t, version 1.
func Prefix(t byte) []byte {
	return append([]byte(Magic), t, Version1)
}

// Sniff reports the type byte of a binary keyblob object, or ok false if
// data does not start with the keyblob magic.
func Sniff(data []byte) (t byte, ok bool) {
	if len(data) < HeaderSize || string(data[:len(Magic)]) != Magic {
		return 0, false
	}
	return data[len(Magic)], true
}

// CheckPrefix checks that data starts with the prefix of type t version 1.
// It returns an error that names what was expected.
func CheckPrefix(data []byte, t byte, what string) error {
	got, ok := Sniff(data)
	switch {
	case !ok:
		return fmt.Errorf("not a keyblob %s (no keyblob magic)", what)
	case got != t:
		return fmt.Errorf("not a keyblob %s (it is %s)", what, withArticle(TypeName(got)))
	case data[len(Magic)+1] != Version1:
		return fmt.Errorf("%s version %d: %w", what, data[len(Magic)+1], ErrUnsupportedVersion)
	}
	return nil
}

// TypeName names a type byte for messages.
func TypeName(t byte) string {
	switch t {
	case TypeBlob:
		return "key blob"
	case TypeEncrypted:
		return "encrypted file"
	case TypeIdentity:
		return "stored identity"
	case TypeSessionKey:
		return "session key"
	case TypeSealed:
		return "sealed message"
	}
	return fmt.Sprintf("keyblob object of unknown type 0x%02x", t)
}

// ErrTooLarge is returned by ReadAll for input over its limit.
var ErrTooLarge = errors.New("input is too large")

// ReadAll reads r to the end, but no more than limit bytes: a longer input
// gives ErrTooLarge without reading (or allocating for) the rest.
func ReadAll(r io.Reader, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, fmt.Errorf("%w (over %d bytes)", ErrTooLarge, limit)
	}
	return buf.Bytes(), nil
}

// withArticle puts "a" or "an" before a name.
func withArticle(name string) string {
	if strings.ContainsRune("aeiou", rune(name[0])) {
		return "an " + name
	}
	return "a " + name
}
