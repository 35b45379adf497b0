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

// EncryptOptions tune the encryption and decryption of files. The zero
// value, and a nil *EncryptOptions, use every CPU.
type EncryptOptions struct {
	// Workers is the number of goroutines sealing or opening chunks;
	// zero or less means one per CPU.
	Workers int
}

func (o *EncryptOptions) workers() int {
	if o == nil {
		return 0
	}
	return o.Workers
}

func (o *EncryptOptions) stream() *stream.Options {
	return &stream.Options{Workers: o.workers()}
}

// newEncryption makes the header of a new file encrypted with key, with a
// fresh nonce and its key commitment, and the file's payload cipher.
func newEncryption(key *SessionKey) (*EncryptedHeader, *stream.Cipher, error) {
	if key == nil {
		return nil, nil, errors.New("no session key")
	}
	h := &EncryptedHeader{SessionAlg: key.alg, Serial: key.serial}
	rand.Read(h.Nonce[:])
	h.commit(key)
	c, err := h.payloadCipher(key)
	return h, c, err
}

// Encrypt writes the header of a new file encrypted with key to dst and
// returns a writer for the plaintext: the push form of EncryptFile, which
// makes the same bytes. The caller must Close the writer to finish the
// file; Close does not close dst. The writer is not safe for concurrent
// use. For armor, give it a writer from NewEncryptedArmorWriter.
func Encrypt(dst io.Writer, key *SessionKey, opts *EncryptOptions) (io.WriteCloser, error) {
	h, c, err := newEncryption(key)
	if err != nil {
		return nil, err
	}
	if _, err := dst.Write(h.marshal()); err != nil {
		return nil, err
	}
	return stream.NewWriter(c, dst, opts.workers()), nil
}

// EncryptFile encrypts the plaintext of src with key into a new file
// written to dst, and returns its header. It reads ahead, seals on the
// workers and writes at the same time, in constant memory; the bytes are
// the same as through Encrypt, whatever src and dst are. On error, what
// was written to dst must be discarded.
func EncryptFile(dst Sink, src Source, key *SessionKey, opts *EncryptOptions) (*EncryptedHeader, error) {
	sink := streamSink(dst)
	if streamSource(src).Check() != nil || sink.Check() != nil {
		return nil, errSourceSink
	}
	h, c, err := newEncryption(key)
	if err != nil {
		return nil, err
	}
	if err := sink.Put(h.marshal(), 0); err != nil {
		return nil, err
	}
	_, err = stream.Seal(c, streamSource(src), sink.From(int64(EncryptedHeaderSize)), opts.stream())
	return h, err
}

var errSourceSink = errors.New("a Source needs one of R and At, a Sink one of W and At")

// A Decrypter is an encrypted file whose header has been read and checked
// against its session key: the serial and the key commitment. Its payload
// is read once: with Read or WriteTo (it is an io.Reader and an
// io.WriterTo), or with Decrypt. A Decrypter is not safe for concurrent
// use.
//
// Every chunk of plaintext it releases has been authenticated with the
// session key; the end of the file is authenticated only at the end, so a
// caller writing the plaintext to a file must discard it on any error:
// the file was then modified, truncated or extended (ErrAuth).
type Decrypter struct {
	h    EncryptedHeader
	c    *stream.Cipher
	opts *stream.Options
	r    *stream.Reader // the payload as a stream, for Read and WriteTo
	src  io.Reader      // the payload, from Decrypt
	at   io.ReaderAt    // the file, from DecryptAt
	size int64          // the size of the file in at
	used bool           // Read, WriteTo or Decrypt has begun
}

// Decrypt reads the header of a file encrypted with key from the stream
// src, binary (see DearmorEncrypted for armor), and checks it: another
// object or version is ErrMalformedEncryptedFile, another key's serial
// ErrWrongSessionKey, and a key of the right serial that is not the file's
// ErrAuth, all before any of the payload is read. The payload is then read
// from src as a stream.
func Decrypt(src io.Reader, key *SessionKey, opts *EncryptOptions) (*Decrypter, error) {
	d, err := newDecrypter(src, key, opts)
	if err != nil {
		return nil, err
	}
	d.src = src
	d.r = stream.NewReader(d.c, src, opts.workers())
	return d, nil
}

// DecryptAt is Decrypt for a file that is the size bytes of src, such as a
// regular file: the payload is then read at offsets, by the workers
// concurrently.
func DecryptAt(src io.ReaderAt, size int64, key *SessionKey, opts *EncryptOptions) (*Decrypter, error) {
	d, err := newDecrypter(io.NewSectionReader(src, 0, size), key, opts)
	if err != nil {
		return nil, err
	}
	d.at, d.size = src, size
	d.r = stream.NewReader(d.c, io.NewSectionReader(src, int64(EncryptedHeaderSize), size-int64(EncryptedHeaderSize)), opts.workers())
	return d, nil
}

// newDecrypter reads and checks the header from hr.
func newDecrypter(hr io.Reader, key *SessionKey, opts *EncryptOptions) (*Decrypter, error) {
	if key == nil {
		return nil, errors.New("no session key")
	}
	h, err := readEncryptedHeader(hr)
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
	return &Decrypter{h: *h, c: c, opts: opts.stream()}, nil
}

// readEncryptedHeader reads exactly the header from r.
func readEncryptedHeader(r io.Reader) (*EncryptedHeader, error) {
	buf := make([]byte, EncryptedHeaderSize)
	if n, err := io.ReadFull(r, buf); err != nil {
		if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, err
		}
		if _, perr := ParseEncryptedHeader(buf[:n]); perr != nil && n >= format.HeaderSize {
			return nil, perr
		}
		return nil, fmt.Errorf("%w: too short", ErrMalformedEncryptedFile)
	}
	return ParseEncryptedHeader(buf)
}

// Header returns a copy of the file's header, checked against the key.
func (d *Decrypter) Header() *EncryptedHeader {
	h := d.h
	return &h
}

// errUsed refuses a second reading of the payload.
var errUsed = errors.New("the payload of the encrypted file was already read")

// Read returns authenticated plaintext. Its errors other than io.EOF are
// ErrAuth for any authentication failure, or the underlying reader's.
func (d *Decrypter) Read(p []byte) (int, error) {
	if d.r == nil {
		return 0, errUsed
	}
	d.used = true
	n, err := d.r.Read(p)
	return n, authError(err)
}

// WriteTo writes the rest of the plaintext to w, with the guarantees of
// Read, reading, opening and writing concurrently (io.Copy uses it).
func (d *Decrypter) WriteTo(w io.Writer) (int64, error) {
	if d.r == nil {
		return 0, errUsed
	}
	d.used = true
	n, err := d.r.WriteTo(w)
	return n, authError(err)
}

// Decrypt decrypts the whole payload to dst and returns the size of the
// plaintext; nil means the whole file was authentic. It reads ahead, opens
// on the workers and writes at the same time; from DecryptAt, the workers
// read the chunks at their offsets. To W it writes only authenticated
// chunks, in order; on any error what was written to dst must be
// discarded. It fails if Read or WriteTo has begun.
func (d *Decrypter) Decrypt(dst Sink) (int64, error) {
	sink := streamSink(dst)
	switch {
	case d.used || d.r == nil:
		return 0, errUsed
	case sink.Check() != nil:
		return 0, errSourceSink
	}
	src := stream.Source{R: d.src}
	if d.at != nil {
		src = stream.Source{At: d.at, Offset: int64(EncryptedHeaderSize), Size: d.size - int64(EncryptedHeaderSize)}
	}
	d.r = nil
	n, err := stream.Open(d.c, src, sink, d.opts)
	return n, authError(err)
}

// authError maps the stream's authentication errors, whatever their
// wrapping, to the one ErrAuth.
func authError(err error) error {
	if errors.Is(err, stream.ErrAuth) {
		return ErrAuth
	}
	return err
}
