package format

import (
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"
)

// PEM type labels of keyblob's own objects. Keys use the standard labels
// "PRIVATE KEY" (PKCS #8) and "PUBLIC KEY" (SubjectPublicKeyInfo).
const (
	PEMBlob       = "KEYBLOB KEY BLOB"
	PEMEncrypted  = "KEYBLOB ENCRYPTED FILE"
	PEMSessionKey = "KEYBLOB SESSION KEY"
	PEMSealed     = "KEYBLOB SEALED MESSAGE"
	PEMPrivateKey = "PRIVATE KEY"
	PEMPublicKey  = "PUBLIC KEY"
)

// ErrNotPEM is returned when armored input holds no PEM block.
var ErrNotPEM = errors.New("no PEM block found")

// Armor returns data as one PEM block of type label, with no headers.
func Armor(label string, data []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: label, Bytes: data})
}

// IsArmored reports whether data starts, after white space, with a PEM
// begin line.
func IsArmored(data []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("-----BEGIN "))
}

// Unarmor decodes armored data that must be exactly one PEM block of type
// label, as Armor writes it: no headers, no text around it but white
// space, and canonical base64 and line lengths (CRLF line ends are
// accepted). Anything else is an error, so that one object has one armored
// encoding.
func Unarmor(data []byte, label string) ([]byte, error) {
	norm := bytes.ReplaceAll(bytes.TrimSpace(data), []byte("\r\n"), []byte("\n"))
	block, rest := pem.Decode(norm)
	switch {
	case block == nil:
		return nil, ErrNotPEM
	case block.Type != label:
		return nil, fmt.Errorf("PEM block is %q, want %q", block.Type, label)
	case len(rest) != 0:
		return nil, errors.New("trailing data after the PEM block")
	case len(block.Headers) != 0:
		return nil, errors.New("PEM block has headers")
	}
	if !bytes.Equal(append(norm, '\n'), Armor(label, block.Bytes)) {
		return nil, errors.New("PEM block is not in canonical form")
	}
	return block.Bytes, nil
}
