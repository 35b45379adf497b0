package keyblob

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
)

// oidXWing is id-XWing from draft-connolly-cfrg-xwing-kem. Its PKCS #8
// private key is the raw 32-byte seed and its SubjectPublicKeyInfo key the
// raw 1216-byte public key, with no algorithm parameters.
var oidXWing = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 62253, 25722}

const (
	xwingSeedSize   = 32
	xwingPublicSize = 1216
)

type pkcs8Info struct {
	Version    int
	Algorithm  pkix.AlgorithmIdentifier
	PrivateKey []byte
}

type spkiInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	PublicKey asn1.BitString
}

func marshalXWingPKCS8(seed []byte) ([]byte, error) {
	return asn1.Marshal(pkcs8Info{Algorithm: pkix.AlgorithmIdentifier{Algorithm: oidXWing}, PrivateKey: seed})
}

func marshalXWingSPKI(pub []byte) ([]byte, error) {
	return asn1.Marshal(spkiInfo{
		Algorithm: pkix.AlgorithmIdentifier{Algorithm: oidXWing},
		PublicKey: asn1.BitString{Bytes: pub, BitLength: 8 * len(pub)},
	})
}

// xwingPKCS8Seed returns the seed of an X-Wing PKCS #8 key, ok false if der
// is not one, and an error if it claims to be one but is malformed.
func xwingPKCS8Seed(der []byte) (seed []byte, ok bool, err error) {
	var info pkcs8Info
	if _, err := asn1.Unmarshal(der, &info); err != nil || !info.Algorithm.Algorithm.Equal(oidXWing) {
		return nil, false, nil
	}
	canon, err := marshalXWingPKCS8(info.PrivateKey)
	if err != nil || len(info.PrivateKey) != xwingSeedSize || !bytes.Equal(canon, der) {
		return nil, true, errors.New("keyblob: malformed MLKEM768-X25519 private key")
	}
	return info.PrivateKey, true, nil
}

// xwingSPKIKey is xwingPKCS8Seed for public keys.
func xwingSPKIKey(der []byte) (pub []byte, ok bool, err error) {
	var info spkiInfo
	if _, err := asn1.Unmarshal(der, &info); err != nil || !info.Algorithm.Algorithm.Equal(oidXWing) {
		return nil, false, nil
	}
	pub = info.PublicKey.RightAlign()
	canon, err := marshalXWingSPKI(pub)
	if err != nil || len(pub) != xwingPublicSize || !bytes.Equal(canon, der) {
		return nil, true, errors.New("keyblob: malformed MLKEM768-X25519 public key")
	}
	return pub, true, nil
}

// parsePrivateDER parses one PKCS #8 key into the roles it can play:
// X-Wing and X25519 keys exchange, Ed25519 keys sign, RSA keys do both.
func parsePrivateDER(der []byte) (exchangePrivate, signingPrivate, error) {
	if seed, ok, err := xwingPKCS8Seed(der); ok {
		if err != nil {
			return nil, nil, err
		}
		k, err := newXWingPrivate(seed)
		return k, nil, err
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, nil, fmt.Errorf("keyblob: private key: %w", err)
	}
	switch k := key.(type) {
	case *ecdh.PrivateKey:
		x, err := newX25519Private(k)
		return x, nil, err
	case ed25519.PrivateKey:
		return nil, &ed25519Private{k}, nil
	case *rsa.PrivateKey:
		if err := checkRSASize(&k.PublicKey); err != nil {
			return nil, nil, err
		}
		return &rsaPrivate{k}, &rsaPSSPrivate{k}, nil
	}
	return nil, nil, fmt.Errorf("keyblob: unsupported private key type %T (want X25519, Ed25519, RSA or MLKEM768-X25519)", key)
}

// parsePublicDER parses one SubjectPublicKeyInfo like parsePrivateDER.
func parsePublicDER(der []byte) (exchangePublic, signingPublic, error) {
	if raw, ok, err := xwingSPKIKey(der); ok {
		if err != nil {
			return nil, nil, err
		}
		p, err := newHPKEPublic(ExchangeHybrid, raw)
		return p, nil, err
	}
	key, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, nil, fmt.Errorf("keyblob: public key: %w", err)
	}
	switch k := key.(type) {
	case *ecdh.PublicKey:
		if k.Curve() != ecdh.X25519() {
			break
		}
		p, err := newHPKEPublic(ExchangeX25519, k.Bytes())
		return p, nil, err
	case ed25519.PublicKey:
		p, err := newEd25519Public(k)
		if err != nil {
			return nil, nil, fmt.Errorf("keyblob: public key: %w", err)
		}
		return nil, p, nil
	case *rsa.PublicKey:
		if err := checkRSASize(k); err != nil {
			return nil, nil, err
		}
		return &rsaPublic{k}, &rsaPSSPublic{k}, nil
	}
	return nil, nil, fmt.Errorf("keyblob: unsupported public key type %T (want X25519, Ed25519, RSA or MLKEM768-X25519)", key)
}

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
		return noE, noS, fmt.Errorf("keyblob: a key file holds one or two keys, not %d", len(keys))
	case keys[0].exchange == noE:
		return noE, noS, errors.New("keyblob: the first of two keys must be an exchange key (X25519, RSA or MLKEM768-X25519)")
	case keys[1].signing == noS:
		return noE, noS, errors.New("keyblob: the second of two keys must be a signature key (Ed25519 or RSA)")
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
				return nil, fmt.Errorf("keyblob: unexpected text outside PEM blocks: %.40q", t)
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
			return nil, errors.New("keyblob: malformed PEM block")
		case block.Type != label:
			return nil, fmt.Errorf("keyblob: PEM block %q where %q was expected", block.Type, label)
		case len(block.Headers) > 0:
			return nil, errors.New("keyblob: PEM block with headers (an encrypted key?): decrypt it first")
		}
		ders, rest = append(ders, block.Bytes), after
	}
}
