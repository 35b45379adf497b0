package stream

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
	"sync/atomic"
)

// FileOptions tune SealAt and OpenAt. The zero value uses every CPU,
// writes in order to the destination and computes no digest.
type FileOptions struct {
	// Workers is the number of goroutines; zero or less means one per CPU.
	Workers int
	// DstAt, if set, receives each chunk with WriteAt at DstOffset plus the
	// chunk's offset, from the workers directly and in no particular order;
	// the io.Writer argument is then not used. Use it for regular files.
	DstAt     io.WriterAt
	DstOffset int64
	// Digest, if set, receives the SHA-256 of every sealed chunk, in order
	// (see NewChunkDigest).
	Digest hash.Hash
	// Progress, if set, is called with the source size of every chunk
	// processed, from several goroutines at once.
	Progress func(n int)
}

// NewChunkDigest returns the hash that a FileOptions.Digest, Writer.HashTo
// or Reader.HashTo feeds: chunk hashes go into it in order, after prefix.
func NewChunkDigest(prefix string) hash.Hash {
	h := sha256.New()
	h.Write([]byte(prefix))
	return h
}

// SealAt seals the size bytes of src starting at srcOffset, reading and
// sealing chunks in parallel. It is the fast path of Writer for inputs that
// support ReadAt, such as regular files; the output is identical.
func SealAt(c *Cipher, src io.ReaderAt, srcOffset, size int64, dst io.Writer, opts *FileOptions) error {
	if size < 0 {
		return errors.New("stream: negative size")
	}
	j := newFileJob(c, true, src, srcOffset, size, dst, opts)
	return j.run()
}

// OpenAt opens the sealed stream of size bytes of src starting at
// srcOffset, reading and opening chunks in parallel, and writes the
// plaintext to dst. It returns ErrAuth if the stream is not authentic. On
// any error, what was written to dst must be discarded: with DstAt, chunks
// after the failing one may have been written too (each authenticated).
func OpenAt(c *Cipher, src io.ReaderAt, srcOffset, size int64, dst io.Writer, opts *FileOptions) error {
	if _, err := PlaintextSize(size); err != nil {
		return err
	}
	j := newFileJob(c, false, src, srcOffset, size, dst, opts)
	return j.run()
}

// fileJob is one SealAt or OpenAt call.
type fileJob struct {
	c       *Cipher
	seal    bool
	src     io.ReaderAt
	srcOff  int64
	size    int64 // of the source part
	chunks  int64
	inSize  int // size of a full source chunk
	outSize int // size of a full destination chunk
	dst     io.Writer
	opts    FileOptions
	workers int
	sums    []byte       // chunk hashes of the current window
	bufs    []workerBufs // one pair per worker
	failed  atomic.Bool
	errOnce sync.Once
	err     error
}

func newFileJob(c *Cipher, seal bool, src io.ReaderAt, off, size int64, dst io.Writer, opts *FileOptions) *fileJob {
	j := &fileJob{c: c, seal: seal, src: src, srcOff: off, size: size, dst: dst}
	if opts != nil {
		j.opts = *opts
	}
	j.workers = workerCount(j.opts.Workers)
	j.inSize, j.outSize = ChunkSize, EncChunkSize
	if !seal {
		j.inSize, j.outSize = EncChunkSize, ChunkSize
	}
	j.chunks = max((size+int64(j.inSize)-1)/int64(j.inSize), 1)
	return j
}

// fail records the first error and stops the workers.
func (j *fileJob) fail(err error) {
	j.errOnce.Do(func() { j.err = err })
	j.failed.Store(true)
}

// window is how many chunks are processed between two ordered steps:
// larger when workers write at offsets (only the digest needs order),
// small when an ordered writer must hold the output.
func (j *fileJob) window() int64 {
	if j.opts.DstAt != nil {
		return 128
	}
	return int64(batchChunks(j.workers) * 4)
}

func (j *fileJob) run() error {
	win := j.window()
	if j.opts.Digest != nil {
		j.sums = make([]byte, win*sha256.Size)
	}
	j.bufs = make([]workerBufs, min(int64(j.workers), win))
	for i := range j.bufs {
		j.bufs[i].nonce = new(nonce)
		if !j.seal { // sealing reads each chunk straight into its output
			j.bufs[i].in = make([]byte, j.inSize)
		}
		if j.opts.DstAt != nil {
			j.bufs[i].out = make([]byte, j.outSize)
		}
	}
	// Chunks written at offsets need no ordered writer. A window holds at
	// most the whole message: small messages get small buffers.
	var w *orderedWriter
	if j.opts.DstAt == nil {
		w = newOrderedWriter(j.dst, int(min(win, j.chunks))*j.outSize)
	}
	for start := int64(0); start < j.chunks && !j.failed.Load(); start += win {
		n := min(win, j.chunks-start)
		out := w.next()
		j.processWindow(start, n, out)
		if j.failed.Load() {
			break
		}
		if j.sums != nil {
			j.opts.Digest.Write(j.sums[:n*sha256.Size])
		}
		if w != nil {
			w.submit(out[:j.windowOutLen(start, n)])
		}
	}
	if err := w.close(); err != nil && !j.failed.Load() {
		j.fail(err)
	}
	return j.err
}

// windowOutLen is the destination size of chunks [start, start+n).
func (j *fileJob) windowOutLen(start, n int64) int {
	last := start+n == j.chunks
	full := n
	if last {
		full--
	}
	l := int(full) * j.outSize
	if last {
		l += j.outLen(j.lastInLen())
	}
	return l
}

// lastInLen is the source size of the last chunk.
func (j *fileJob) lastInLen() int {
	return int(j.size - (j.chunks-1)*int64(j.inSize))
}

// outLen is the destination size of a chunk of source size n.
func (j *fileJob) outLen(n int) int {
	if j.seal {
		return n + Overhead
	}
	return n - Overhead
}

// processWindow processes chunks [start, start+n) on all workers. Workers
// take the next chunk index from a shared counter, so a slow chunk does not
// hold the others back.
func (j *fileJob) processWindow(start, n int64, out []byte) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for _, b := range j.bufs[:min(int64(len(j.bufs)), n)] {
		wg.Go(func() {
			if err := j.worker(start, n, b, out, &next); err != nil {
				j.fail(err)
			}
		})
	}
	wg.Wait()
}

// worker processes chunks of the window until none is left.
func (j *fileJob) worker(start, n int64, b workerBufs, out []byte, next *atomic.Int64) error {
	for i := next.Add(1) - 1; i < n && !j.failed.Load(); i = next.Add(1) - 1 {
		if err := j.processChunk(start+i, i, b, out); err != nil {
			return err
		}
	}
	return nil
}

// processChunk reads, seals or opens, hashes and places chunk index,
// the i-th of its window.
func (j *fileJob) processChunk(index, i int64, b workerBufs, out []byte) error {
	n := j.inSize
	last := index == j.chunks-1
	if last {
		n = j.lastInLen()
	}
	// In order, the chunk goes to its place in the window; written at its
	// offset, to the worker's own buffer, so memory does not grow with
	// the window.
	dst := b.out[:0]
	if b.out == nil {
		dst = out[i*int64(j.outSize) : i*int64(j.outSize)]
	}
	src, res, err := j.readTransform(b, dst, index, n, last)
	if err != nil {
		return err
	}
	if j.sums != nil {
		sealed := res
		if !j.seal {
			sealed = src
		}
		putSum(j.sums, int(i), sealed)
	}
	if j.opts.DstAt != nil {
		_, err = j.opts.DstAt.WriteAt(res, j.opts.DstOffset+index*int64(j.outSize))
	}
	if err == nil && j.opts.Progress != nil {
		j.opts.Progress(n)
	}
	return err
}

// readTransform reads chunk index and seals or opens it into dst. A
// plaintext chunk is read straight into dst and sealed in place (GCM
// allows exact overlap), so each chunk is touched once, while in cache.
func (j *fileJob) readTransform(b workerBufs, dst []byte, index int64, n int, last bool) (src, res []byte, err error) {
	if j.seal {
		src = dst[:n]
	} else {
		src = b.in[:n]
	}
	if err := j.read(src, index); err != nil {
		return nil, nil, err
	}
	if j.seal {
		return src, j.c.sealChunk(src[:0], src, uint64(index), last, b.nonce), nil
	}
	res, err = j.c.openChunk(dst, src, uint64(index), last, b.nonce)
	return src, res, err
}

// read reads the source bytes of chunk index into buf.
func (j *fileJob) read(buf []byte, index int64) error {
	_, err := j.src.ReadAt(buf, j.srcOff+index*int64(j.inSize))
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("stream: input is shorter than %d bytes (changed while reading?)", j.size)
	}
	return err
}

// workerBufs are one worker's buffers: the source chunk (when opening),
// the output chunk when chunks are written at offsets, and the nonce.
type workerBufs struct {
	in, out []byte
	nonce   *nonce
}

// orderedWriter writes windows in order on its own goroutine, so that the
// next window is processed while the last one is written. It has two
// buffers: one being filled, one being written. A nil *orderedWriter is
// the one of chunks written at offsets: it hands out nil buffers.
type orderedWriter struct {
	dst  io.Writer
	free chan []byte
	full chan []byte
	done chan error
}

func newOrderedWriter(dst io.Writer, size int) *orderedWriter {
	w := &orderedWriter{
		dst:  dst,
		free: make(chan []byte, 2),
		full: make(chan []byte, 1),
		done: make(chan error, 1),
	}
	w.free <- make([]byte, size)
	w.free <- make([]byte, size)
	go w.loop()
	return w
}

func (w *orderedWriter) loop() {
	var err error
	for buf := range w.full {
		if err == nil {
			err = writeFull(w.dst, buf)
		}
		w.free <- buf[:cap(buf)]
	}
	w.done <- err
}

// next returns a buffer to fill.
func (w *orderedWriter) next() []byte {
	if w == nil {
		return nil
	}
	return <-w.free
}

// submit queues a filled buffer for writing.
func (w *orderedWriter) submit(buf []byte) { w.full <- buf }

// close waits for the queued writes and returns the first error.
func (w *orderedWriter) close() error {
	if w == nil {
		return nil
	}
	close(w.full)
	return <-w.done
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
