// Package stream implements the chunked AEAD payload encryption used by
// every keyblob format: the STREAM construction of Hoang, Reyhanitabar,
// Rogaway and Vizár, instantiated with AES-256-GCM.
//
// The plaintext is cut into chunks of ChunkSize bytes. Chunk i is sealed
// with the 12-byte nonce counter(i) || flag, where counter(i) is i as an
// 11-byte big-endian integer and flag is 1 for the last chunk and 0
// otherwise. Only the last chunk may be shorter than ChunkSize, and it may
// be empty only when it is also the first chunk (empty plaintext). This
// makes truncation, reordering, duplication and appended data detectable,
// and gives every plaintext exactly one encoding.
//
// Each chunk depends only on the key, its index and its flag, so chunks are
// sealed and opened in parallel. Seal and Open are the one engine: a
// pipeline that reads the next batch of chunks while the workers process
// this one and the previous one is written, in constant memory, from an
// io.Reader or an io.ReaderAt to an io.Writer or an io.WriterAt (see
// Source and Sink). Writer and Reader are its push and pull adapters, one
// batch per call; every way gives the same bytes. The key must be unique
// per message (callers derive it with HKDF from a random nonce): nonces
// restart at zero for every message.
//
// The normative description is spec/stream.md.
package stream

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"

	"github.com/keyblob/keyblob/internal/format"
)

const (
	// KeySize is the size of a payload key.
	KeySize = 32
	// ChunkSize is the size of every plaintext chunk but the last.
	ChunkSize = 64 << 10
	// Overhead is the size of the authentication tag added to each chunk.
	Overhead = 16
	// EncChunkSize is the size of every sealed chunk but the last.
	EncChunkSize = ChunkSize + Overhead

	nonceSize  = 12
	lastFlag   = 1
	maxCounter = 1<<64 - 1
)

// ErrAuth is returned for every authentication failure of a stream:
// a modified, truncated, reordered or extended ciphertext, or the wrong key.
// It deliberately does not say which check failed. It is format.ErrAuth,
// the module's one authentication error (keyblob.ErrAuth).
var ErrAuth = format.ErrAuth

// Cipher seals and opens individual chunks. It is safe for concurrent use.
type Cipher struct {
	aead cipher.AEAD
}

// NewCipher returns a Cipher for a KeySize-byte payload key.
func NewCipher(key []byte) (*Cipher, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Cipher{aead: aead}, nil
}

// A nonce is the storage for one chunk's nonce. Passed to the AEAD (an
// interface), a nonce on the stack would escape to the heap: one allocation
// per chunk. Workers keep one nonce each and reuse it.
type nonce [nonceSize]byte

// set makes n the nonce of chunk index, with the last-chunk flag.
func (n *nonce) set(index uint64, last bool) []byte {
	n[0], n[1], n[2] = 0, 0, 0
	for i := 0; i < 8; i++ {
		n[10-i] = byte(index >> (8 * i))
	}
	n[nonceSize-1] = 0
	if last {
		n[nonceSize-1] = lastFlag
	}
	return n[:]
}

// SealChunk appends the sealed chunk index to dst and returns the result.
// plaintext must be ChunkSize bytes unless last is set.
func (c *Cipher) SealChunk(dst, plaintext []byte, index uint64, last bool) []byte {
	return c.sealChunk(dst, plaintext, index, last, new(nonce))
}

func (c *Cipher) sealChunk(dst, plaintext []byte, index uint64, last bool, n *nonce) []byte {
	if len(plaintext) > ChunkSize || (!last && len(plaintext) != ChunkSize) {
		panic("stream: SealChunk called with a chunk of the wrong size")
	}
	return c.aead.Seal(dst, n.set(index, last), plaintext, nil)
}

// OpenChunk appends the plaintext of sealed chunk index to dst. It returns
// ErrAuth if the chunk is not authentic for that index and flag, or if its
// size is not allowed for its position (see the package documentation).
func (c *Cipher) OpenChunk(dst, sealed []byte, index uint64, last bool) ([]byte, error) {
	return c.openChunk(dst, sealed, index, last, new(nonce))
}

func (c *Cipher) openChunk(dst, sealed []byte, index uint64, last bool, n *nonce) ([]byte, error) {
	switch {
	case len(sealed) < Overhead, len(sealed) > EncChunkSize:
		return nil, ErrAuth
	case !last && len(sealed) != EncChunkSize:
		return nil, ErrAuth
	case last && index > 0 && len(sealed) == Overhead:
		return nil, ErrAuth
	}
	out, err := c.aead.Open(dst, n.set(index, last), sealed, nil)
	if err != nil {
		return nil, ErrAuth
	}
	return out, nil
}

// EncryptedSize returns the size of the sealed stream of a plaintext of
// size n bytes.
func EncryptedSize(n int64) int64 {
	chunks := n / ChunkSize
	if n%ChunkSize != 0 || n == 0 {
		chunks++
	}
	return n + chunks*Overhead
}

// PlaintextSize returns the plaintext size of a well-formed sealed stream
// of size n bytes, or an error if no stream has that size.
func PlaintextSize(n int64) (int64, error) {
	if n < Overhead {
		return 0, ErrAuth
	}
	full := n / EncChunkSize
	rest := n % EncChunkSize
	switch {
	case rest == 0:
		return full * ChunkSize, nil
	case rest < Overhead, rest == Overhead && full > 0:
		return 0, ErrAuth
	}
	return full*ChunkSize + rest - Overhead, nil
}
