package cert

import (
	"crypto"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/keyblob/keyblob"
)

// OIDRecipient is the object identifier of the recipient extension,
// 2.999.2114875431.1 (spec/cert.md section 3: provisional, in the
// example arc, because crypto/x509 cannot parse a certificate with an
// OID arc of 2^31 or more, as every 2.25 UUID OID has).
var OIDRecipient = asn1.ObjectIdentifier{2, 999, 2114875431, 1}

// extensionVersion is the only version of the extension's value.
const extensionVersion = 1

// MaxExtensionSize bounds the extension's value: a SEQUENCE of an INTEGER
// and the longest recipient line (8 KiB), with its headers.
const MaxExtensionSize = 8<<10 + 16

// MarshalExtension returns the recipient extension of r, non-critical:
// its value is the DER of SEQUENCE { version INTEGER (1), recipient
// UTF8String (r's recipient line) }. r must have a signature key, the key
// the certificate certifies.
func MarshalExtension(r *keyblob.Recipient) (pkix.Extension, error) {
	if !r.CanVerify() {
		return pkix.Extension{}, fmt.Errorf("%w: the recipient has no signature key to certify", ErrExtension)
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(extensionVersion)
		b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(r.String())) })
	})
	value, err := b.Bytes()
	if err != nil {
		return pkix.Extension{}, err
	}
	return pkix.Extension{Id: OIDRecipient, Value: value}, nil
}

// ParseExtension parses the value of a recipient extension strictly: DER
// of the layout MarshalExtension writes, version 1, nothing after it, at
// most MaxExtensionSize bytes, and a canonical recipient line with a
// signature key. Every failure is ErrExtension.
func ParseExtension(value []byte) (*keyblob.Recipient, error) {
	if len(value) > MaxExtensionSize {
		return nil, fmt.Errorf("%w: value of %d bytes, over %d", ErrExtension, len(value), MaxExtensionSize)
	}
	s := cryptobyte.String(value)
	var seq, line cryptobyte.String
	var version int64
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !s.Empty() ||
		!seq.ReadASN1Int64WithTag(&version, cbasn1.INTEGER) ||
		!seq.ReadASN1(&line, cbasn1.UTF8String) || !seq.Empty() {
		return nil, fmt.Errorf("%w: not DER of SEQUENCE { INTEGER, UTF8String } with nothing after it", ErrExtension)
	}
	if version != extensionVersion {
		return nil, fmt.Errorf("%w: version %d, only %d is known", ErrExtension, version, extensionVersion)
	}
	r, err := keyblob.ParseRecipientLine(string(line))
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrExtension, err)
	case r.String() != string(line):
		return nil, fmt.Errorf("%w: the recipient line is not canonical", ErrExtension)
	case !r.CanVerify():
		return nil, fmt.Errorf("%w: the recipient line has no signature key", ErrExtension)
	}
	return r, nil
}

// recipientOf finds the recipient extension among exts (exactly once,
// non-critical), parses it, and checks that its signature key is pub, the
// certified key.
func recipientOf(exts []pkix.Extension, pub crypto.PublicKey) (*keyblob.Recipient, error) {
	var found *pkix.Extension
	for i := range exts {
		if !exts[i].Id.Equal(OIDRecipient) {
			continue
		}
		if found != nil {
			return nil, fmt.Errorf("%w: the recipient extension appears more than once", ErrExtension)
		}
		found = &exts[i]
	}
	switch {
	case found == nil:
		return nil, fmt.Errorf("%w: no recipient extension (%s): not a keyblob certificate", ErrExtension, OIDRecipient)
	case found.Critical:
		return nil, fmt.Errorf("%w: the recipient extension is marked critical; it must not be", ErrExtension)
	}
	r, err := ParseExtension(found.Value)
	if err != nil {
		return nil, err
	}
	if !sameKey(r.SigningPublicKey(), pub) {
		return nil, ErrKeyMismatch
	}
	return r, nil
}

// ErrKeyMismatch is returned for a recipient extension whose signature key
// is not the certificate's (or request's) subject public key. It is an
// ErrExtension.
var ErrKeyMismatch = fmt.Errorf("%w: its signature key is not the certificate's public key", ErrExtension)

// sameKey reports whether two standard public keys are equal.
func sameKey(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && b != nil && k.Equal(b)
}
