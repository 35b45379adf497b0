package stream

import (
	"crypto/sha256"
	"errors"
	"hash"
	"io"
)

// Reader decrypts a stream. It reads batches of sealed chunks, opens them in
// parallel and returns their plaintext in order. Plaintext is returned only
// after the chunk holding it has been authenticated; a batch that holds any
// chunk that fails is returned not at all. io.EOF is returned only after the
// authenticated last chunk, at the end of the input, so a truncated stream
// ends with ErrAuth. A Reader is not safe for concurrent use.
type Reader struct {
	c       *Cipher
	src     io.Reader
	workers int
	sealed  []byte // one batch of sealed chunks
	plain   []byte // the plaintext of one batch
	sizes   []int  // sealed size of each chunk of the batch
	fails   []bool // which chunks of the batch failed to open
	pending []byte // plaintext not yet returned
	index   uint64
	peek    [1]byte // one byte read ahead, to tell whether a chunk is last
	hasPeek bool
	nonces  []nonce   // one per chunk of a batch, reused
	digest  hash.Hash // see HashTo
	sums    []byte    // chunk hashes of one batch
	done    bool      // the last chunk has been opened
	err     error     // sticky; io.EOF after the last chunk
}

// NewReader returns a Reader that opens with c from src using up to
// workers goroutines (zero or less: one per CPU).
func NewReader(c *Cipher, src io.Reader, workers int) *Reader {
	workers = workerCount(workers)
	batch := batchChunks(workers)
	return &Reader{
		c:       c,
		src:     src,
		workers: workers,
		sealed:  make([]byte, batch*EncChunkSize),
		plain:   make([]byte, batch*ChunkSize),
		sizes:   make([]int, batch),
		fails:   make([]bool, batch),
		nonces:  make([]nonce, batch),
	}
}

// HashTo makes the Reader feed the SHA-256 of every sealed chunk it opens,
// in order, into h (see NewChunkDigest). It must be called before Read.
func (r *Reader) HashTo(h hash.Hash) {
	r.digest = h
	r.sums = make([]byte, len(r.sizes)*sha256.Size)
}

// Read returns authenticated plaintext. Errors other than io.EOF are
// ErrAuth for any authentication failure, or the underlying reader's error.
func (r *Reader) Read(p []byte) (int, error) {
	for len(r.pending) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		r.err = r.fill()
	}
	n := copy(p, r.pending)
	r.pending = r.pending[n:]
	return n, nil
}

// fill reads, opens and buffers the next batch. It returns io.EOF once the
// last chunk has been returned, and nil while more may follow.
func (r *Reader) fill() error {
	if r.done {
		return io.EOF
	}
	chunks, last, err := r.readBatch()
	if err != nil {
		return err
	}
	if r.index > maxCounter-uint64(chunks) {
		// The Writer never uses more counter values than this; a longer
		// stream would reuse nonces, so it cannot be authentic.
		return ErrAuth
	}
	parallel(chunks, r.workers, func(i int) {
		sealed := r.sealed[i*EncChunkSize : i*EncChunkSize+r.sizes[i]]
		dst := r.plain[i*ChunkSize : i*ChunkSize]
		_, err := r.c.openChunk(dst, sealed, r.index+uint64(i), last && i == chunks-1, &r.nonces[i])
		r.fails[i] = err != nil
		if r.digest != nil {
			putSum(r.sums, i, sealed)
		}
	})
	for i := range chunks {
		if r.fails[i] {
			return ErrAuth
		}
	}
	if r.digest != nil {
		r.digest.Write(r.sums[:chunks*sha256.Size])
	}
	// Every chunk but the last is full, so the plaintext is contiguous.
	r.pending = r.plain[:(chunks-1)*ChunkSize+r.sizes[chunks-1]-Overhead]
	r.index += uint64(chunks)
	r.done = last
	return nil
}

// readBatch reads up to one batch of sealed chunks and reports how many it
// read and whether the last of them is the final chunk of the stream.
func (r *Reader) readBatch() (chunks int, last bool, err error) {
	for chunks < len(r.sizes) && !last {
		buf := r.sealed[chunks*EncChunkSize : (chunks+1)*EncChunkSize]
		n, isLast, err := r.readChunk(buf)
		if err != nil {
			return 0, false, err
		}
		if n < Overhead {
			return 0, false, ErrAuth
		}
		r.sizes[chunks] = n
		chunks, last = chunks+1, isLast
	}
	return chunks, last, nil
}

// readChunk fills buf with the next sealed chunk and reports its size and
// whether it ends the input. A chunk is last when it is short or when no
// byte follows it.
func (r *Reader) readChunk(buf []byte) (int, bool, error) {
	off := 0
	if r.hasPeek {
		buf[0], off, r.hasPeek = r.peek[0], 1, false
	}
	n, err := io.ReadFull(r.src, buf[off:])
	n += off
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return n, true, nil
	case err != nil:
		return 0, false, err
	}
	m, err := io.ReadFull(r.src, r.peek[:])
	switch {
	case m == 1:
		r.hasPeek = true
		return n, false, nil
	case errors.Is(err, io.EOF):
		return n, true, nil
	}
	return 0, false, err
}
