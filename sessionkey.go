package keyblob

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/keyblob/keyblob/internal/format"
	"github.com/keyblob/keyblob/password"
)

// SessionAlg identifies what a session key is used with.
type SessionAlg uint8

// Session key algorithms. The numbers are part of every format.
const (
	// SessionAES256GCM keys encrypt with AES-256-GCM in the chunked STREAM
	// construction of spec/stream.md.
	SessionAES256GCM SessionAlg = 1
)

// String names the algorithm.
func (a SessionAlg) String() string {
	if a == SessionAES256GCM {
		return "AES-256-GCM-STREAM"
	}
	return fmt.Sprintf("unknown session key algorithm %d", uint8(a))
}

// SessionKeySize is the size of a session key.
const SessionKeySize = 32

// A Serial identifies a session key (its key ID). It is random, or for a
// derived key derived with it, and public.
type Serial [16]byte

// String returns the serial as 32 lower-case hex digits.
func (s Serial) String() string { return hex.EncodeToString(s[:]) }

// keyOrigin says how a session key came to be, as its file records it
// (spec/blob.md): Params tells a derived key from a random one.
type keyOrigin uint8

// Origins: random (NewSessionKey), or derived from a passphrase
// (DeriveSessionKey), with the Argon2id parameters in the file.
const (
	originRandom  keyOrigin = 0
	originDerived keyOrigin = 1
)

// A SessionKey is a symmetric key with its serial and algorithm
// (CryptGenKey's result). The key bytes are secret. A SessionKey is
// immutable and safe for concurrent use; the zero value is not a key.
type SessionKey struct {
	alg    SessionAlg
	serial Serial
	origin keyOrigin
	key    [SessionKeySize]byte
	params password.Params // for originDerived
}

// NewSessionKey returns a new random AES-256-GCM session key with a random
// 128-bit serial.
func NewSessionKey() *SessionKey {
	k := &SessionKey{alg: SessionAES256GCM, origin: originRandom}
	rand.Read(k.serial[:])
	rand.Read(k.key[:])
	return k
}

// Alg returns the algorithm the key is for.
func (k *SessionKey) Alg() SessionAlg { return k.alg }

// Serial returns the key's serial.
func (k *SessionKey) Serial() Serial { return k.serial }

// Bytes returns a copy of the secret key bytes.
func (k *SessionKey) Bytes() []byte { return append([]byte(nil), k.key[:]...) }

// Equal reports whether k and o are the same key, serial and algorithm,
// comparing the secret in constant time.
func (k *SessionKey) Equal(o *SessionKey) bool {
	return k.alg == o.alg && k.serial == o.serial && k.origin == o.origin &&
		subtle.ConstantTimeCompare(k.key[:], o.key[:]) == 1
}

// sessionKeySize is the size of the binary body of a random session key.
const sessionKeySize = format.HeaderSize + 1 + 16 + 1 + SessionKeySize

// Marshal returns the binary body of the session key file (spec/blob.md).
// A derived key's body ends with its Argon2id parameters and salt.
func (k *SessionKey) Marshal() []byte {
	var b cryptobyte.Builder
	b.AddBytes(format.Prefix(format.TypeSessionKey))
	b.AddUint8(uint8(k.alg))
	b.AddBytes(k.serial[:])
	b.AddUint8(uint8(k.origin))
	b.AddBytes(k.key[:])
	if k.origin == originDerived {
		k.params.Append(&b)
	}
	return b.BytesOrPanic()
}

// Params returns the Argon2id parameters and salt of a derived key, and
// ok false for a random one.
func (k *SessionKey) Params() (p password.Params, ok bool) {
	return k.params, k.origin == originDerived
}

// Labels of the two outputs of a key derivation.
const (
	derivedKeyInfo    = "keyblob/v1 derived session key"
	derivedSerialInfo = "keyblob/v1 derived serial"
)

// DeriveSessionKey derives a session key from a passphrase (CryptDeriveKey):
// Argon2id with params gives a 32-byte secret, from which HKDF-SHA256
// expands the key and, separately, its serial. The same passphrase, salt
// and parameters always give the same key with the same serial. Parameters
// outside password's limits are refused before any work.
func DeriveSessionKey(passphrase []byte, params password.Params) (*SessionKey, error) {
	prk, err := params.Key(passphrase, 32)
	if err != nil {
		return nil, err
	}
	key, err := hkdf.Expand(sha256.New, prk, derivedKeyInfo, SessionKeySize)
	if err != nil {
		return nil, err
	}
	serial, err := hkdf.Expand(sha256.New, prk, derivedSerialInfo, len(Serial{}))
	if err != nil {
		return nil, err
	}
	k := &SessionKey{alg: SessionAES256GCM, origin: originDerived, params: params}
	copy(k.key[:], key)
	copy(k.serial[:], serial)
	return k, nil
}

// MarshalPEM returns the session key file: the binary body armored as a
// "KEYBLOB SESSION KEY" PEM block.
func (k *SessionKey) MarshalPEM() []byte {
	return format.Armor(format.PEMSessionKey, k.Marshal())
}

// ErrMalformedSessionKey is returned for a session key file that is not
// exactly one canonical session key.
var ErrMalformedSessionKey = fmt.Errorf("%w session key", ErrMalformed)

// ParseSessionKey reads a session key file (PEM) or its binary body.
func ParseSessionKey(data []byte) (*SessionKey, error) {
	if format.IsArmored(data) {
		body, err := format.Unarmor(data, format.PEMSessionKey)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformedSessionKey, err)
		}
		data = body
	}
	if err := format.CheckPrefix(data, format.TypeSessionKey, "session key"); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedSessionKey, err)
	}
	return decodeSessionKey(data[format.HeaderSize:])
}

func decodeSessionKey(body []byte) (*SessionKey, error) {
	s := cryptobyte.String(body)
	k := &SessionKey{}
	var alg, orig uint8
	var serial, key []byte
	if !s.ReadUint8(&alg) || !s.ReadBytes(&serial, 16) || !s.ReadUint8(&orig) {
		return nil, ErrMalformedSessionKey
	}
	switch {
	case SessionAlg(alg) != SessionAES256GCM:
		return nil, fmt.Errorf("%w: %s", ErrMalformedSessionKey, SessionAlg(alg))
	case keyOrigin(orig) != originRandom && keyOrigin(orig) != originDerived:
		return nil, ErrMalformedSessionKey
	}
	if !s.ReadBytes(&key, SessionKeySize) {
		return nil, ErrMalformedSessionKey
	}
	if keyOrigin(orig) == originDerived {
		params, err := password.Read(&s)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformedSessionKey, err)
		}
		k.params = params
	}
	if !s.Empty() {
		return nil, ErrMalformedSessionKey
	}
	k.alg, k.origin = SessionAlg(alg), keyOrigin(orig)
	copy(k.serial[:], serial)
	copy(k.key[:], key)
	return k, nil
}

// NewSessionKeyFrom returns the random-origin AES-256-GCM session key with
// the given serial and SessionKeySize secret bytes, for a format that
// carries a session key's serial and secret apart (a sealed message's
// passphrase stanza, spec/sealed.md). It is the key ParseSessionKey reads
// from a session key file of that serial and secret, and checks only the
// size: the caller vouches that key is the secret of a key NewSessionKey
// made, never bytes of its own choosing, and keeps the serial with it.
func NewSessionKeyFrom(serial Serial, key []byte) (*SessionKey, error) {
	if len(key) != SessionKeySize {
		return nil, fmt.Errorf("session key of %d bytes, want %d", len(key), SessionKeySize)
	}
	k := &SessionKey{alg: SessionAES256GCM, serial: serial, origin: originRandom}
	copy(k.key[:], key)
	return k, nil
}
