package keyblob

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/keyblob/keyblob/internal/format"
	"github.com/keyblob/keyblob/internal/stream"
)

// EncryptedHeader is the header of a file encrypted with a session key
// (spec/stream.md). It holds no secret.
type EncryptedHeader struct {
	SessionAlg SessionAlg
	Serial     Serial
	Nonce      [16]byte
	// Commitment is derived from the session key and the fields above it;
	// a decoder checks it before it opens any chunk, so one file cannot
	// decrypt under two keys (AES-GCM alone is not key-committing).
	Commitment [commitmentSize]byte
}

// commitmentSize is the size of an encrypted file's key commitment.
const commitmentSize = 32

// EncryptedHeaderSize is the size of an encrypted file's header.
const EncryptedHeaderSize = format.HeaderSize + 1 + 16 + 16 + commitmentSize

// boundHeaderSize is the size of the fields bound into both derivations:
// magic through serial.
const boundHeaderSize = format.HeaderSize + 1 + 16

// HKDF info prefixes of an encrypted file's payload key and key commitment.
const (
	encryptedInfo  = "keyblob/v1 encrypted file"
	commitmentInfo = "keyblob/v1 encrypted file key commitment"
)

// ErrMalformedEncryptedFile is returned by Decrypt and ParseEncryptedHeader
// for a header that is not that of an encrypted file this version reads:
// another object, another version, an unknown algorithm, or too short.
var ErrMalformedEncryptedFile = fmt.Errorf("%w encrypted file", ErrMalformed)

// ErrWrongSessionKey is returned by Decrypt when the file was encrypted with
// a session key of another serial.
var ErrWrongSessionKey = errors.New("the file was encrypted with another session key")

func (h *EncryptedHeader) marshal() []byte {
	out := format.Prefix(format.TypeEncrypted)
	out = append(out, byte(h.SessionAlg))
	out = append(out, h.Serial[:]...)
	out = append(out, h.Nonce[:]...)
	return append(out, h.Commitment[:]...)
}

// ParseEncryptedHeader parses the first EncryptedHeaderSize bytes of data.
func ParseEncryptedHeader(data []byte) (*EncryptedHeader, error) {
	if err := format.CheckPrefix(data, format.TypeEncrypted, "encrypted file"); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedEncryptedFile, err)
	}
	if len(data) < EncryptedHeaderSize {
		return nil, fmt.Errorf("%w: the header is truncated", ErrMalformedEncryptedFile)
	}
	h := &EncryptedHeader{SessionAlg: SessionAlg(data[format.HeaderSize])}
	if h.SessionAlg != SessionAES256GCM {
		return nil, fmt.Errorf("%w: %s", ErrMalformedEncryptedFile, h.SessionAlg)
	}
	copy(h.Serial[:], data[format.HeaderSize+1:])
	copy(h.Nonce[:], data[format.HeaderSize+17:])
	copy(h.Commitment[:], data[format.HeaderSize+33:])
	return h, nil
}

// derive derives one of the file's keys from the session key, the nonce
// and the bound header (spec/stream.md, 3.2).
func (h *EncryptedHeader) derive(key *SessionKey, info string, n int) []byte {
	bound := h.marshal()[:boundHeaderSize]
	k, err := hkdf.Key(sha256.New, key.key[:], h.Nonce[:], info+string(bound), n)
	if err != nil {
		panic("keyblob: " + err.Error()) // only for n over 255 × 32
	}
	return k
}

// commit sets the header's key commitment for key.
func (h *EncryptedHeader) commit(key *SessionKey) {
	copy(h.Commitment[:], h.derive(key, commitmentInfo, commitmentSize))
}

// payloadCipher checks the key commitment in constant time and returns the
// stream cipher of the file; a key that does not match is ErrAuth.
func (h *EncryptedHeader) payloadCipher(key *SessionKey) (*stream.Cipher, error) {
	want := h.derive(key, commitmentInfo, commitmentSize)
	if !hmac.Equal(want, h.Commitment[:]) {
		return nil, ErrAuth
	}
	return stream.NewCipher(h.derive(key, encryptedInfo, stream.KeySize))
}

// EncryptOptions tune Encrypt and Decrypt. The zero value uses every CPU.
type EncryptOptions struct {
	// Workers is the number of goroutines sealing or opening chunks;
	// zero or less means one per CPU.
	Workers int
}

// Encrypt writes the header of a new file encrypted with key to dst and
// returns a writer for the plaintext. The caller must Close it to finish
// the file; Close does not close dst.
func Encrypt(dst io.Writer, key *SessionKey, opts *EncryptOptions) (io.WriteCloser, error) {
	h := &EncryptedHeader{SessionAlg: key.alg, Serial: key.serial}
	rand.Read(h.Nonce[:])
	h.commit(key)
	c, err := h.payloadCipher(key)
	if err != nil {
		return nil, err
	}
	if _, err := dst.Write(h.marshal()); err != nil {
		return nil, err
	}
	return stream.NewWriter(c, dst, opts.workers()), nil
}

// Decrypt reads the header of a file encrypted with key from src and
// returns a reader of its plaintext. The reader returns only authenticated
// plaintext and fails with ErrAuth, at the latest at the end, if the file
// was modified, truncated or extended; a caller writing the plaintext to a
// file must discard it on any error. It implements io.WriterTo, which
// reads, opens and writes concurrently.
func Decrypt(src io.Reader, key *SessionKey, opts *EncryptOptions) (io.Reader, error) {
	buf := make([]byte, EncryptedHeaderSize)
	if n, err := io.ReadFull(src, buf); err != nil {
		if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, err
		}
		if _, perr := ParseEncryptedHeader(buf[:n]); perr != nil && n >= format.HeaderSize {
			return nil, perr
		}
		return nil, fmt.Errorf("%w: too short", ErrMalformedEncryptedFile)
	}
	h, err := ParseEncryptedHeader(buf)
	if err != nil {
		return nil, err
	}
	if h.Serial != key.serial || h.SessionAlg != key.alg {
		return nil, fmt.Errorf("%w (serial %s, not %s)", ErrWrongSessionKey, h.Serial, key.serial)
	}
	c, err := h.payloadCipher(key)
	if err != nil {
		return nil, err
	}
	return &authReader{stream.NewReader(c, src, opts.workers())}, nil
}

func (o *EncryptOptions) workers() int {
	if o == nil {
		return 0
	}
	return o.Workers
}

// authReader maps the stream's authentication error to ErrAuth.
type authReader struct{ r *stream.Reader }

func (a *authReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	return n, authError(err)
}

// WriteTo writes the rest of the plaintext to w, with the guarantees of
// Read, reading, opening and writing concurrently (io.Copy uses it).
func (a *authReader) WriteTo(w io.Writer) (int64, error) {
	n, err := a.r.WriteTo(w)
	return n, authError(err)
}

func authError(err error) error {
	if errors.Is(err, stream.ErrAuth) {
		return ErrAuth
	}
	return err
}
