package keystore

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/cryptobyte"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/format"
	"github.com/keyblob/keyblob/password"
)

// This file reads single entry files outside of a store, for tools that
// describe a file without a passphrase (keyblob inspect): a stored
// identity or a generation record, under the name the file itself holds.

// StoredIdentityLabel is the PEM label of a stored identity file
// (spec/keystore.md 4.1).
const StoredIdentityLabel = pemIdentity

// An IdentityFile is the public part of a stored identity file, read
// without the passphrase. Nothing in it is authenticated (spec/keystore.md
// 10.2), and no generation record was checked.
type IdentityFile struct {
	IdentityInfo
	// Params are the Argon2id costs and salt the file is encrypted with.
	Params password.Params
}

// ParseIdentityFile decodes the public part of a stored identity file
// (spec/keystore.md 4.4, steps 2 to 7) under the entry name it holds,
// which must be a valid entry name. It is as strict as reading the
// identity from a store.
func ParseIdentityFile(data []byte) (*IdentityFile, error) {
	name, err := identityFileName(data)
	if err != nil {
		return nil, err
	}
	si, err := decodeIdentity(data, name)
	if err != nil {
		return nil, err
	}
	return &IdentityFile{IdentityInfo: si.info, Params: si.params}, nil
}

// identityFileName reads the entry name a stored identity file holds.
func identityFileName(data []byte) (string, error) {
	body, err := format.Unarmor(data, pemIdentity)
	if err == nil {
		err = format.CheckPrefix(body, format.TypeIdentity, "stored identity")
	}
	if err != nil {
		return "", err
	}
	s := cryptobyte.String(body[format.HeaderSize:])
	var name cryptobyte.String
	if !s.ReadUint8LengthPrefixed(&name) {
		return "", fmt.Errorf("%w stored identity", keyblob.ErrMalformed)
	}
	if err := CheckName(string(name)); err != nil {
		return "", fmt.Errorf("stored identity: %w", err)
	}
	return string(name), nil
}

// IsGenerationRecord reports whether data starts as a generation record
// (spec/keystore.md 4.6) does; ParseGenerationRecord checks the rest.
func IsGenerationRecord(data []byte) bool {
	return bytes.HasPrefix(data, []byte(generationsHeader))
}

// ParseGenerationRecord decodes a generation record strictly, as a store
// reads it: the name of the identity it is for, and the fingerprints of
// its generations, oldest first.
func ParseGenerationRecord(data []byte) (string, []keyblob.Fingerprint, error) {
	first, _, _ := strings.Cut(string(data), "\n")
	quoted, ok := strings.CutPrefix(first, generationsHeader)
	name, err := strconv.Unquote(quoted)
	if !ok || err != nil || CheckName(name) != nil {
		return "", nil, fmt.Errorf("generation record: %w header", keyblob.ErrMalformed)
	}
	if len(data) > maxEntrySize {
		return "", nil, fmt.Errorf("generation record of %q: %w", name, format.ErrTooLarge)
	}
	fps, err := decodeGenerations(data, name)
	return name, fps, err
}
