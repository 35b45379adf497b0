package stream

import (
	"errors"
	"hash"
	"io"
)

// errClosed is returned by Write after Close.
var errClosed = errors.New("write after close")

// Writer seals a stream pushed to it with Write: the engine of Seal, one
// batch per step. Bytes written are buffered until a batch is full and
// more follows; the batch is then sealed on the workers and written in
// order to the underlying writer. Close seals the rest as the final
// chunks; it does not close the underlying writer. The output is the same
// as Seal's. A Writer is not safe for concurrent use.
type Writer struct {
	e   *engine
	dst Sink
	b   *batch
	err error // sticky; errClosed after Close
}

// NewWriter returns a Writer that seals with c into dst using up to
// workers goroutines (zero or less: one per CPU).
func NewWriter(c *Cipher, dst io.Writer, workers int) *Writer {
	e := newEngine(c, false, &Options{Workers: workers})
	return &Writer{e: e, dst: Sink{W: dst}, b: newBatch(e.chunks, false)}
}

// HashTo makes the Writer feed the SHA-256 of every sealed chunk, in
// order, into h (see NewChunkDigest). It must be called before Write.
func (w *Writer) HashTo(h hash.Hash) { w.e.digest = h }

// Write buffers and seals p. It returns the first error of the underlying
// writer, after which the Writer is unusable.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n := 0
	for len(p) > 0 {
		space := w.b.space(ChunkSize)
		if len(space) == 0 {
			// The batch is full and more follows: none of it is last.
			if w.err = w.flush(false); w.err != nil {
				return n, w.err
			}
			continue
		}
		k := copy(space, p)
		w.b.used += k
		p, n = p[k:], n+k
	}
	return n, nil
}

// Close seals the buffered data as the final chunks and writes them.
// It is an error to Write after Close; a second Close does nothing.
func (w *Writer) Close() error {
	switch {
	case w.err == errClosed:
		return nil
	case w.err != nil:
		return w.err
	}
	if w.err = w.flush(true); w.err != nil {
		return w.err
	}
	w.err = errClosed
	return nil
}

// flush seals and writes the buffered batch.
func (w *Writer) flush(last bool) error {
	if err := w.e.cut(w.b, last); err != nil {
		return err
	}
	w.e.parallel(w.b, &Source{}, &w.dst)
	_, err := w.e.finish(w.b, &w.dst)
	w.b.used = 0
	return err
}
