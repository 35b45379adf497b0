package stream

import (
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"runtime"
)

// Source is what Seal and Open read: R as a stream, or the Size bytes of At
// starting at Offset. Exactly one of R and At must be set.
//
// A stream is read in order by one goroutine, a batch of chunks ahead of the
// workers; its end is where R returns io.EOF. At is read by the workers
// themselves, each chunk at its offset, concurrently.
type Source struct {
	R      io.Reader
	At     io.ReaderAt
	Offset int64
	Size   int64
}

// Sink is where Seal and Open write: W in order, or At starting at Offset.
// Exactly one of W and At must be set.
//
// W receives whole batches of chunks, in order, from one goroutine, while
// the next batch is being processed. At receives each chunk at its offset
// from the worker that made it, as soon as it is made, in no particular
// order, and is never written to twice at the same place.
type Sink struct {
	W      io.Writer
	At     io.WriterAt
	Offset int64
}

// Options tune Seal and Open. A nil *Options uses every CPU and computes no
// digest.
type Options struct {
	// Workers is the number of goroutines sealing or opening chunks; zero
	// or less means one per CPU.
	Workers int
	// Digest, if set, receives the SHA-256 of every sealed chunk, in order
	// (see NewChunkDigest). When opening, it covers the chunks that were
	// authenticated, which is all of them on a nil return.
	Digest hash.Hash
	// Progress, if set, is called with the source size of every batch of
	// chunks done, in order, from one goroutine at a time.
	Progress func(n int)
}

// NewChunkDigest returns the hash that Options.Digest, Writer.HashTo and
// Reader.HashTo feed: chunk hashes go into it in order, after prefix.
func NewChunkDigest(prefix string) hash.Hash {
	h := sha256.New()
	h.Write([]byte(prefix))
	return h
}

// Seal seals the plaintext of src to dst and returns the number of sealed
// bytes written. It reads ahead, seals and writes at the same time, in
// constant memory. On error, what was written to dst must be discarded.
func Seal(c *Cipher, src Source, dst Sink, opts *Options) (int64, error) {
	return run(newEngine(c, false, opts), src, dst)
}

// Open opens the sealed stream of src to dst and returns the number of
// plaintext bytes written. It returns ErrAuth if the stream is not
// authentic. To W it writes only batches of authenticated chunks, in order;
// to At, each authenticated chunk, and chunks after a failing one may have
// been written too. On any error, what was written to dst must be
// discarded.
func Open(c *Cipher, src Source, dst Sink, opts *Options) (int64, error) {
	if src.At != nil && src.Size >= 0 {
		if _, err := PlaintextSize(src.Size); err != nil {
			return 0, err
		}
	}
	return run(newEngine(c, true, opts), src, dst)
}

// Check returns an error unless exactly one of R and At is set, and Size
// is not negative.
func (s Source) Check() error {
	switch {
	case (s.R == nil) == (s.At == nil):
		return errors.New("the source must have exactly one of R and At")
	case s.At != nil && s.Size < 0:
		return errors.New("negative source size")
	}
	return nil
}

// Check returns an error unless exactly one of W and At is set.
func (s Sink) Check() error {
	if (s.W == nil) == (s.At == nil) {
		return errors.New("the sink must have exactly one of W and At")
	}
	return nil
}

// Put writes p, which a caller's format places at offset off of the sink
// (a header before the stream, a trailer after it): in order to W, or at
// Offset+off to At. A short write is io.ErrShortWrite.
func (s Sink) Put(p []byte, off int64) error {
	var n int
	var err error
	if s.At != nil {
		n, err = s.At.WriteAt(p, s.Offset+off)
	} else {
		n, err = s.W.Write(p)
	}
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	return err
}

// From returns the part of the sink from off on: for At, the same sink
// with off added to Offset; W is written in order, so it is unchanged.
func (s Sink) From(off int64) Sink {
	if s.At != nil {
		s.Offset += off
	}
	return s
}

// run checks src and dst and runs the stream through the pipeline.
func run(e *engine, src Source, dst Sink) (int64, error) {
	if err := errors.Join(src.Check(), dst.Check()); err != nil {
		return 0, err
	}
	if src.R != nil {
		return e.pipeline(&readerSource{r: src.R}, &src, &dst)
	}
	return e.pipeline(newAtSource(e, src.Size), &src, &dst)
}

// engine is one stream being sealed or opened: what its batches share.
type engine struct {
	c        *Cipher
	open     bool // opening, not sealing
	workers  int
	chunks   int       // chunks per batch
	digest   hash.Hash // nil: no digest
	progress func(n int)
	next     uint64 // index of the first chunk of the next batch
}

func newEngine(c *Cipher, open bool, opts *Options) *engine {
	if opts == nil {
		opts = &Options{}
	}
	workers := workerCount(opts.Workers)
	return &engine{
		c:        c,
		open:     open,
		workers:  workers,
		chunks:   batchChunks(workers),
		digest:   opts.Digest,
		progress: opts.Progress,
	}
}

// batchChunks returns how many chunks one batch holds: enough to keep every
// worker busy, few enough to keep memory small (at most 64 chunks, 4 MiB).
func batchChunks(workers int) int {
	return min(max(4*workers, 8), 64)
}

// workerCount turns a requested worker count into a usable one: zero or
// less means one per available CPU.
func workerCount(workers int) int {
	if workers <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return workers
}

// inSize is the source size of a full chunk; outSize its result's.
func (e *engine) inSize() int {
	if e.open {
		return EncChunkSize
	}
	return ChunkSize
}

func (e *engine) outSize() int {
	if e.open {
		return ChunkSize
	}
	return EncChunkSize
}

// chunk processes chunk i of b: it reads it from src.At if set, seals or
// opens it, hashes the sealed chunk, and writes the result to dst.At if
// set. It is called by the workers, concurrently for different chunks.
func (e *engine) chunk(b *batch, i int, src *Source, dst *Sink) error {
	in := b.in(i)
	index := b.first + uint64(i)
	if src.At != nil {
		if err := readAt(src, in, int64(index)*int64(e.inSize())); err != nil {
			return err
		}
	}
	res, sealed, err := e.transform(b, i, in)
	if err != nil {
		return err
	}
	if e.digest != nil {
		putSum(b.sums, i, sealed)
	}
	if dst.At != nil {
		_, err = dst.At.WriteAt(res, dst.Offset+int64(index)*int64(e.outSize()))
	}
	return err
}

// transform seals chunk i in place, or opens it into its plaintext slot,
// and returns the result and the sealed chunk. A plaintext chunk sealed in
// place is touched once, while in cache; GCM allows exact overlap.
func (e *engine) transform(b *batch, i int, in []byte) (res, sealed []byte, err error) {
	index, last := b.first+uint64(i), b.last && i == b.n-1
	if !e.open {
		res = e.c.sealChunk(in[:0], in, index, last, &b.nonces[i])
		return res, res, nil
	}
	res, err = e.c.openChunk(b.out[i*ChunkSize:i*ChunkSize], in, index, last, &b.nonces[i])
	return res, in, err
}

// readAt reads the source bytes of the chunk at offset off of src.
func readAt(src *Source, buf []byte, off int64) error {
	n, err := src.At.ReadAt(buf, src.Offset+off)
	switch {
	case n == len(buf):
		return nil
	case err == nil, errors.Is(err, io.EOF):
		return errors.New("the input is shorter than its size (changed while reading?)")
	}
	return err
}

// finish is the ordered step of batch b, once every chunk of it is done:
// it reports the first error of the batch, in chunk order, or feeds the
// digest, writes the batch to dst.W if set, and reports progress. It
// returns the number of bytes of the batch's result.
func (e *engine) finish(b *batch, dst *Sink) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	for _, err := range b.errs[:b.n] {
		if err != nil {
			return 0, err
		}
	}
	if e.digest != nil {
		e.digest.Write(b.sums[:b.n*sha256.Size])
	}
	out := b.output(e.open)
	if dst.W != nil {
		if err := writeFull(dst.W, out); err != nil {
			return 0, err
		}
	}
	if e.progress != nil {
		e.progress(b.inLen())
	}
	return len(out), nil
}

// putSum stores the SHA-256 of a sealed chunk in slot i of sums.
func putSum(sums []byte, i int, sealed []byte) {
	s := sha256.Sum256(sealed)
	copy(sums[i*sha256.Size:], s[:])
}

// writeFull writes buf, turning a short write into io.ErrShortWrite.
func writeFull(dst io.Writer, buf []byte) error {
	n, err := dst.Write(buf)
	if err == nil && n < len(buf) {
		err = io.ErrShortWrite
	}
	return err
}
