package keyblob

import (
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"
)

// Which algorithm a standard key is, and which roles it plays, is the
// table's business: suite.ParsePKCS8 and suite.ParsePKIX. This file
// decides which key of a file plays which role, and reads the PEM.

// keyRoles is what one key file block can do.
type keyRoles[E, S comparable] struct {
	exchange E
	signing  S
}

// assignRoles decides which key of a file plays which role. One key plays
// every role it can (an RSA key both); of two keys the first must be an
// exchange key and the second a signature key.
func assignRoles[E, S comparable](keys []keyRoles[E, S]) (E, S, error) {
	var noE E
	var noS S
	switch {
	case len(keys) == 1:
		return keys[0].exchange, keys[0].signing, nil
	case len(keys) != 2:
		return noE, noS, fmt.Errorf("a key file holds one or two keys, not %d", len(keys))
	case keys[0].exchange == noE:
		return noE, noS, errors.New("the first of two keys must be an exchange key (X25519, RSA or MLKEM768-X25519)")
	case keys[1].signing == noS:
		return noE, noS, errors.New("the second of two keys must be a signature key (Ed25519 or RSA)")
	}
	return keys[0].exchange, keys[1].signing, nil
}

// maxKeyFileSize bounds identity and recipient files.
const maxKeyFileSize = 64 << 10

// pemBlocks returns the DER bytes of the PEM blocks of type label in data.
// Outside the blocks only blank lines and lines starting with '#' are
// allowed; headers and other block types are errors.
func pemBlocks(data []byte, label string) ([][]byte, error) {
	var ders [][]byte
	for rest := data; ; {
		var line []byte
		for len(rest) > 0 && !bytes.HasPrefix(rest, []byte("-----BEGIN ")) {
			line, rest, _ = bytes.Cut(rest, []byte("\n"))
			if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
				return nil, fmt.Errorf("unexpected text outside PEM blocks: %.40q", t)
			}
		}
		if len(rest) == 0 {
			return ders, nil
		}
		block, after := pem.Decode(rest)
		// pem.Decode skips a malformed block and returns the next good
		// one; only a block that starts right here may be used, or the
		// text of the skipped one would pass unchecked.
		consumed := rest[:len(rest)-len(after)]
		switch {
		case block == nil, bytes.Count(consumed, []byte("-----BEGIN ")) != 1:
			return nil, fmt.Errorf("%w PEM block", ErrMalformed)
		case block.Type != label:
			return nil, fmt.Errorf("PEM block %q where %q was expected", block.Type, label)
		case len(block.Headers) > 0:
			return nil, errors.New("PEM block with headers (an encrypted key?): decrypt it first")
		}
		ders, rest = append(ders, block.Bytes), after
	}
}
