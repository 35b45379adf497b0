package stream

import (
	"crypto/sha256"
	"errors"
	"io"
	"sync"
)

// A batch is up to a fixed number of consecutive chunks of a stream, the
// unit that is read, processed by the workers and written in order.
//
// Source chunk i sits at buf[i*EncChunkSize:], so that a plaintext chunk
// is sealed in place and the sealed chunks of a batch are contiguous; when
// opening, the plaintext of chunk i goes to out[i*ChunkSize:], and the
// plaintext of a batch is contiguous too (every chunk but the last is
// full).
type batch struct {
	buf    []byte
	out    []byte  // opening only
	sizes  []int   // source size of each chunk
	errs   []error // of each chunk, set by its worker
	sums   []byte  // SHA-256 of each sealed chunk
	nonces []nonce // one per chunk, so that none escapes per call
	used   int     // source bytes put into buf, for stream sources
	first  uint64  // index of chunk 0 in the stream
	n      int     // chunks in this batch
	last   bool    // the last chunk of the batch ends the stream
	err    error   // the source failed before this batch
	wg     sync.WaitGroup
}

func newBatch(chunks int, open bool) *batch {
	b := &batch{
		buf:    make([]byte, chunks*EncChunkSize),
		sizes:  make([]int, chunks),
		errs:   make([]error, chunks),
		sums:   make([]byte, chunks*sha256.Size),
		nonces: make([]nonce, chunks),
	}
	if open {
		b.out = make([]byte, chunks*ChunkSize)
	}
	return b
}

// in returns the source bytes of chunk i.
func (b *batch) in(i int) []byte {
	return b.buf[i*EncChunkSize:][:b.sizes[i]]
}

// inLen is the source size of the batch.
func (b *batch) inLen() int {
	n := 0
	for _, s := range b.sizes[:b.n] {
		n += s
	}
	return n
}

// output returns the results of the batch's chunks, once all are done.
func (b *batch) output(open bool) []byte {
	if open {
		return b.out[:b.inLen()-b.n*Overhead]
	}
	return b.buf[:b.inLen()+b.n*Overhead]
}

// space returns where the next source bytes of a stream go: the rest of
// the current chunk, of source chunk size in; empty when the batch is full.
func (b *batch) space(in int) []byte {
	i, off := b.used/in, b.used%in
	if i == len(b.sizes) {
		return nil
	}
	return b.buf[i*EncChunkSize+off : i*EncChunkSize+in]
}

// cut divides the source bytes of b into the next chunks of the stream:
// the full batch, or, if b ends the stream, as many chunks as the bytes
// need, at least one (the empty stream has one empty chunk).
func (e *engine) cut(b *batch, last bool) error {
	in := e.inSize()
	n := len(b.sizes)
	if last {
		n = max((b.used+in-1)/in, 1)
	}
	for i := range n {
		b.sizes[i] = min(in, b.used-i*in)
	}
	return e.claim(b, n, last)
}

// claim makes b the next n chunks of the stream, whose sizes are set.
func (e *engine) claim(b *batch, n int, last bool) error {
	if e.next > maxCounter-uint64(n) {
		if !e.open {
			panic("stream: chunk counter would wrap")
		}
		// Sealing never uses more counter values than this; a longer
		// stream would reuse nonces, so it cannot be authentic.
		return ErrAuth
	}
	b.first, b.n, b.last, b.err = e.next, n, last, nil
	e.next += uint64(n)
	clear(b.errs[:n])
	return nil
}

// A source lays out the next batch of a stream's chunks.
type source interface {
	// next fills b with the next chunks (reading them, for a stream) and
	// claims them; it returns the source's error, if any.
	next(e *engine, b *batch) error
	// chunks is the number of chunks left, or maxCounter if unknown.
	chunks(e *engine) uint64
}

// readerSource reads a stream in order. It reads one byte ahead at the end
// of each full batch, to tell whether the batch's last chunk is the
// stream's.
type readerSource struct {
	r       io.Reader
	peek    [1]byte
	hasPeek bool
}

func (s *readerSource) chunks(*engine) uint64 { return maxCounter }

func (s *readerSource) next(e *engine, b *batch) error {
	b.used = 0
	ended, err := s.fill(b, e.inSize())
	if err != nil {
		return err
	}
	return e.cut(b, ended)
}

// fill reads into b until it is full or the stream ends, and reports
// whether the stream ended.
func (s *readerSource) fill(b *batch, in int) (bool, error) {
	for p := b.space(in); len(p) > 0; p = b.space(in) {
		n, err := s.read(p)
		b.used += n
		switch {
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return true, nil
		case err != nil:
			return false, err
		}
	}
	return s.ended()
}

// read fills p, starting with the byte read ahead if there is one.
func (s *readerSource) read(p []byte) (int, error) {
	if !s.hasPeek {
		return io.ReadFull(s.r, p)
	}
	p[0], s.hasPeek = s.peek[0], false
	n, err := io.ReadFull(s.r, p[1:])
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n + 1, err
}

// ended reads one byte ahead and reports whether there was none.
func (s *readerSource) ended() (bool, error) {
	n, err := io.ReadFull(s.r, s.peek[:])
	switch {
	case n == 1:
		s.hasPeek = true
		return false, nil
	case err == io.EOF:
		return true, nil
	}
	return false, err
}

// atSource lays out the chunks of the Size bytes of a ReaderAt; the
// workers read them.
type atSource struct {
	total    uint64 // chunks
	lastSize int    // source size of the last chunk
}

func newAtSource(e *engine, size int64) *atSource {
	in := int64(e.inSize())
	total := max((size+in-1)/in, 1)
	return &atSource{total: uint64(total), lastSize: int(size - (total-1)*in)}
}

func (s *atSource) chunks(e *engine) uint64 { return s.total - e.next }

func (s *atSource) next(e *engine, b *batch) error {
	n := int(min(uint64(len(b.sizes)), s.chunks(e)))
	last := e.next+uint64(n) == s.total
	for i := range n {
		b.sizes[i] = e.inSize()
	}
	if last {
		b.sizes[n-1] = s.lastSize
	}
	return e.claim(b, n, last)
}
