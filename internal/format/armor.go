package format

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// PEM type labels of keyblob's own objects. Keys use the standard labels
// "PRIVATE KEY" (PKCS #8) and "PUBLIC KEY" (SubjectPublicKeyInfo), which
// are read and written with encoding/pem, not with this armor.
const (
	PEMBlob       = "KEYBLOB KEY BLOB"
	PEMEncrypted  = "KEYBLOB ENCRYPTED FILE"
	PEMSessionKey = "KEYBLOB SESSION KEY"
	PEMSealed     = "KEYBLOB SEALED MESSAGE"
	PEMPrivateKey = "PRIVATE KEY"
	PEMPublicKey  = "PUBLIC KEY"
)

// ErrArmor is wrapped by every error about armor that is not exactly one
// block as spec/blob.md section 4 allows. It wraps ErrMalformed.
var ErrArmor = fmt.Errorf("%w armor", ErrMalformed)

// ErrSpaceNotArmor is returned by Dearmor for input that starts with white
// space but is not armored: no binary keyblob object starts with white
// space, so such input is malformed whatever follows.
var ErrSpaceNotArmor = errors.New("white space before a binary object")

const (
	armorLine   = 64       // base64 characters per line
	armorBuffer = 64 << 10 // the reader's and writer's buffer size
	beginPrefix = "-----BEGIN "
)

func beginLine(label string) string { return beginPrefix + label + "-----" }
func endLine(label string) string   { return "-----END " + label + "-----" }

// isSpace reports whether c is one of the four white space bytes armor
// allows around a block: SP, HT, CR and LF. Nothing else is white space
// here, not VT or FF, and no non-ASCII character.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n'
}

// IsArmored reports whether data, a whole input, is armored: whether it
// starts, after any number of SP, HT, CR and LF bytes, with "-----BEGIN ".
// Every decoder uses this one rule to tell armor from binary.
func IsArmored(data []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte(beginPrefix))
}

// ArmorLabel returns the label of the begin line of armored data (see
// IsArmored), or ok false if data is not armored or its first line is not
// a begin line. It checks nothing else: a decoder still checks the block.
func ArmorLabel(data []byte) (label string, ok bool) {
	rest, ok := bytes.CutPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte(beginPrefix))
	if !ok {
		return "", false
	}
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	got, ok := bytes.CutSuffix(bytes.TrimSuffix(line, []byte("\r")), []byte("-----"))
	if !ok {
		return "", false
	}
	return string(got), true
}

// Armor returns data armored with label, as ArmorWriter writes it. Armor
// of empty data is not decodable: every keyblob object is non-empty.
func Armor(label string, data []byte) []byte {
	var buf bytes.Buffer
	w, _ := NewArmorWriter(&buf, label) // a bytes.Buffer never fails
	w.Write(data)
	w.Close()
	return buf.Bytes()
}

// Unarmor decodes data, which must be one block of type label with only
// what spec/blob.md section 4 allows around it. It reads through
// ArmorReader, so it accepts exactly what the streaming decoder accepts;
// every error wraps ErrArmor.
func Unarmor(data []byte, label string) ([]byte, error) {
	return io.ReadAll(NewArmorReader(bytes.NewReader(data), label))
}

// Dearmor applies the rule of IsArmored to a stream. If src is armored it
// returns an ArmorReader for label and armored true; otherwise src's bytes
// unchanged. Input that starts with white space but is not armored gives
// ErrSpaceNotArmor. It reads ahead through a buffer, so the caller must
// read only the returned reader from then on; the white space it skips may
// be of any length, in constant memory.
func Dearmor(src io.Reader, label string) (r io.Reader, armored bool, err error) {
	br := bufio.NewReaderSize(src, armorBuffer)
	skipped, err := skipSpace(br)
	if err != nil {
		return nil, false, err
	}
	start, err := br.Peek(len(beginPrefix))
	switch {
	case string(start) == beginPrefix:
		return NewArmorReader(br, label), true, nil
	case err != nil && !errors.Is(err, io.EOF):
		return nil, false, err
	case skipped:
		return nil, false, ErrSpaceNotArmor
	}
	return br, false, nil
}

// skipSpace reads the white space at the start of br and reports whether
// there was any.
func skipSpace(br *bufio.Reader) (bool, error) {
	skipped := false
	for {
		c, err := br.ReadByte()
		switch {
		case errors.Is(err, io.EOF):
			return skipped, nil
		case err != nil:
			return skipped, err
		case !isSpace(c):
			return skipped, br.UnreadByte()
		}
		skipped = true
	}
}
