package stream

import (
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"runtime"
	"sync"
)

// errClosed is returned by Write after Close.
var errClosed = errors.New("stream: write after close")

// batchChunks returns how many chunks a Writer or Reader with the given
// number of workers handles at once: enough to keep every worker busy,
// few enough to keep memory small (at most 64 chunks, 4 MiB).
func batchChunks(workers int) int {
	return min(max(4*workers, 2), 64)
}

// workerCount turns a requested worker count into a usable one:
// zero or less means one per available CPU.
func workerCount(workers int) int {
	if workers <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return workers
}

// parallel calls fn(i) for every i in [0, n), spread over up to workers
// goroutines, and returns when all calls have returned.
func parallel(n, workers int, fn func(i int)) {
	if workers <= 1 || n <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	per := (n + workers - 1) / workers
	for start := 0; start < n; start += per {
		end := min(start+per, n)
		wg.Go(func() {
			for i := start; i < end; i++ {
				fn(i)
			}
		})
	}
	wg.Wait()
}

// Writer encrypts a stream. Bytes written to it are sealed in batches of
// chunks, in parallel, and written in order to the underlying writer.
// Close must be called to seal the last chunk; it does not close the
// underlying writer. A Writer is not safe for concurrent use.
type Writer struct {
	c       *Cipher
	dst     io.Writer
	workers int
	plain   []byte // buffered plaintext; len < cap except briefly
	sealed  []byte // output buffer of one batch
	index   uint64
	digest  hash.Hash // see HashTo
	sums    []byte    // chunk hashes of one batch
	nonces  []nonce   // one per chunk of a batch, reused
	err     error
}

// HashTo makes the Writer feed the SHA-256 of every sealed chunk, in
// order, into h (see NewChunkDigest). It must be called before Write.
func (w *Writer) HashTo(h hash.Hash) {
	w.digest = h
	w.sums = make([]byte, cap(w.plain)/ChunkSize*sha256.Size)
}

// NewWriter returns a Writer that seals with c into dst using up to
// workers goroutines (zero or less: one per CPU).
func NewWriter(c *Cipher, dst io.Writer, workers int) *Writer {
	workers = workerCount(workers)
	batch := batchChunks(workers)
	return &Writer{
		c:       c,
		dst:     dst,
		workers: workers,
		plain:   make([]byte, 0, batch*ChunkSize),
		sealed:  make([]byte, batch*EncChunkSize),
		nonces:  make([]nonce, batch),
	}
}

// Write buffers and seals p. It returns the first error of the underlying
// writer, after which the Writer is unusable.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n := 0
	for len(p) > 0 {
		if len(w.plain) == 0 && len(p) > cap(w.plain) {
			// Seal straight from p: more data follows, so no chunk is last.
			if w.err = w.sealBatch(p[:cap(w.plain)], false); w.err != nil {
				return n, w.err
			}
			p, n = p[cap(w.plain):], n+cap(w.plain)
			continue
		}
		if len(w.plain) == cap(w.plain) {
			if w.err = w.sealBatch(w.plain, false); w.err != nil {
				return n, w.err
			}
			w.plain = w.plain[:0]
		}
		k := copy(w.plain[len(w.plain):cap(w.plain)], p)
		w.plain = w.plain[:len(w.plain)+k]
		p, n = p[k:], n+k
	}
	return n, nil
}

// Close seals the buffered data as the final chunks and writes them.
// It is an error to Write after Close; a second Close does nothing.
func (w *Writer) Close() error {
	if w.err != nil {
		if w.err == errClosed {
			return nil
		}
		return w.err
	}
	if err := w.sealBatch(w.plain, true); err != nil {
		w.err = err
		return err
	}
	w.plain = w.plain[:0]
	w.err = errClosed
	return nil
}

// sealBatch seals plain as consecutive chunks and writes them. Unless last
// is set, len(plain) must be a multiple of ChunkSize.
func (w *Writer) sealBatch(plain []byte, last bool) error {
	chunks := max((len(plain)+ChunkSize-1)/ChunkSize, 1)
	if w.index > maxCounter-uint64(chunks) {
		panic("stream: chunk counter would wrap")
	}
	out := w.sealed[:len(plain)+chunks*Overhead]
	parallel(chunks, w.workers, func(i int) {
		start := i * ChunkSize
		chunk := plain[start:min(start+ChunkSize, len(plain))]
		dst := out[i*EncChunkSize : i*EncChunkSize]
		sealed := w.c.sealChunk(dst, chunk, w.index+uint64(i), last && i == chunks-1, &w.nonces[i])
		if w.digest != nil {
			putSum(w.sums, i, sealed)
		}
	})
	if w.digest != nil {
		w.digest.Write(w.sums[:chunks*sha256.Size])
	}
	w.index += uint64(chunks)
	return writeFull(w.dst, out)
}
