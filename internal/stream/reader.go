package stream

import (
	"hash"
	"io"
)

// Reader opens a stream pulled from it with Read: the engine of Open, one
// batch per step. It reads a batch of sealed chunks, opens them on the
// workers and returns their plaintext in order. Plaintext is returned only
// after the chunk holding it has been authenticated; a batch that holds
// any chunk that fails is returned not at all. io.EOF is returned only
// after the authenticated last chunk, at the end of the input, so a
// truncated stream ends with ErrAuth. WriteTo runs the rest of the stream
// through the pipeline of Open. A Reader is not safe for concurrent use.
type Reader struct {
	e       *engine
	src     *readerSource
	b       *batch
	pending []byte // plaintext not yet returned
	done    bool   // the last chunk has been opened
	err     error  // sticky; io.EOF after the last chunk
}

// NewReader returns a Reader that opens with c from src using up to
// workers goroutines (zero or less: one per CPU).
func NewReader(c *Cipher, src io.Reader, workers int) *Reader {
	e := newEngine(c, true, &Options{Workers: workers})
	return &Reader{e: e, src: &readerSource{r: src}}
}

// HashTo makes the Reader feed the SHA-256 of every sealed chunk it opens,
// in order, into h (see NewChunkDigest). It must be called before Read.
func (r *Reader) HashTo(h hash.Hash) { r.e.digest = h }

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
	if r.b == nil {
		r.b = newBatch(r.e.chunks, true)
	}
	if err := r.src.next(r.e, r.b); err != nil {
		return err
	}
	r.e.parallel(r.b, &Source{R: r.src.r}, &Sink{})
	n, err := r.e.finish(r.b, &Sink{})
	if err != nil {
		return err
	}
	r.pending, r.done = r.b.out[:n], r.b.last
	return nil
}

// WriteTo writes the plaintext not yet read to w: what Read would return,
// with the same guarantees, but read, opened and written concurrently. It
// returns nil at the end of an authentic stream.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(r.pending)
	r.pending = r.pending[n:]
	switch {
	case err != nil:
		return int64(n), err
	case r.err != nil:
		if r.err == io.EOF {
			return int64(n), nil
		}
		return int64(n), r.err
	case r.done:
		r.err = io.EOF
		return int64(n), nil
	}
	m, err := r.e.pipeline(r.src, &Source{R: r.src.r}, &Sink{W: w})
	r.err, r.done = err, true
	if err == nil {
		r.err = io.EOF
	}
	return int64(n) + m, err
}
