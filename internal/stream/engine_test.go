package stream_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/keyblob/keyblob/internal/stream"
)

const digestPrefix = "test digest\x00"

// sealStreaming seals pt with the Writer and returns the result and digest.
func sealStreaming(t *testing.T, c *stream.Cipher, pt []byte) ([]byte, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := stream.NewWriter(c, &buf, 2)
	d := stream.NewChunkDigest(digestPrefix)
	w.HashTo(d)
	if _, err := w.Write(pt); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), d.Sum(nil)
}

// engineSizes cross chunk, batch (8 to 64 chunks) and pipeline (4 batches)
// boundaries.
var engineSizes = []int{0, 1, cs - 1, cs, cs + 1, 3*cs + 7, 8 * cs, 8*cs + 1, 33 * cs, 40*cs + 5}

// ends are the four source and sink combinations of the engine.
var ends = []struct {
	name      string
	srcAt     bool // the source is an io.ReaderAt, else an io.Reader
	dstAt     bool // the sink is an io.WriterAt, else an io.Writer
	srcPrefix int  // bytes before the stream in the source
	dstPrefix int  // bytes before the result in the sink
}{
	{"Reader to Writer", false, false, 0, 0},
	{"Reader to WriterAt", false, true, 0, 3},
	{"ReaderAt to Writer", true, false, 6, 0},
	{"ReaderAt to WriterAt", true, true, 6, 3},
}

// sliceWriterAt is an io.WriterAt in memory, safe for concurrent use.
type sliceWriterAt struct {
	mu  sync.Mutex
	buf []byte
}

func (s *sliceWriterAt) WriteAt(p []byte, off int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if end := int(off) + len(p); end > len(s.buf) {
		s.buf = append(s.buf, make([]byte, end-len(s.buf))...)
	}
	copy(s.buf[off:], p)
	return len(p), nil
}

// runEngine seals or opens in with Seal or Open between the given ends and
// returns the result, the digest and the count that the call returned.
func runEngine(c *stream.Cipher, sealing bool, in []byte, workers int, srcAt, dstAt bool, srcPrefix, dstPrefix int) ([]byte, []byte, int64, error) {
	var src stream.Source
	if srcAt {
		padded := append(make([]byte, srcPrefix), in...)
		src = stream.Source{At: bytes.NewReader(padded), Offset: int64(srcPrefix), Size: int64(len(in))}
	} else {
		src = stream.Source{R: bytes.NewReader(in)}
	}
	var buf bytes.Buffer
	at := &sliceWriterAt{buf: make([]byte, dstPrefix)}
	dst := stream.Sink{W: &buf}
	if dstAt {
		dst = stream.Sink{At: at, Offset: int64(dstPrefix)}
	}
	d := stream.NewChunkDigest(digestPrefix)
	opts := &stream.Options{Workers: workers, Digest: d}
	run := stream.Open
	if sealing {
		run = stream.Seal
	}
	n, err := run(c, src, dst, opts)
	out := buf.Bytes()
	if dstAt {
		out = at.buf[dstPrefix:]
	}
	return out, d.Sum(nil), n, err
}

// TestEngineEnds seals and opens every size through the four source and
// sink combinations: the bytes and digests must be the Writer's.
func TestEngineEnds(t *testing.T) {
	c := newCipher(t, testKey(7))
	for _, size := range engineSizes {
		pt := plaintext(size)
		ct, wantDigest := sealStreaming(t, c, pt)
		for _, workers := range []int{1, 2, 5} {
			for _, end := range ends {
				t.Run(fmt.Sprintf("size=%d/workers=%d/%s", size, workers, end.name), func(t *testing.T) {
					got, digest, n, err := runEngine(c, true, pt, workers, end.srcAt, end.dstAt, end.srcPrefix, end.dstPrefix)
					if err != nil || !bytes.Equal(got, ct) || n != int64(len(ct)) {
						t.Fatalf("Seal = %d bytes (%d returned), %v; differs from the Writer's %d bytes", len(got), n, err, len(ct))
					}
					if !bytes.Equal(digest, wantDigest) {
						t.Fatal("Seal digest differs from the Writer's")
					}
					got, digest, n, err = runEngine(c, false, ct, workers, end.srcAt, end.dstAt, end.srcPrefix, end.dstPrefix)
					if err != nil || !bytes.Equal(got, pt) || n != int64(size) {
						t.Fatalf("Open = %d bytes (%d returned), %v; want the %d plaintext bytes", len(got), n, err, size)
					}
					if !bytes.Equal(digest, wantDigest) {
						t.Fatal("Open digest differs from the Writer's")
					}
				})
			}
		}
	}
}

// TestEngineTamper opens damaged streams through the four combinations:
// each is ErrAuth, and what reached an io.Writer is whole authentic
// chunks of a prefix of the plaintext.
func TestEngineTamper(t *testing.T) {
	c := newCipher(t, testKey(9))
	pt := plaintext(40*cs + 5)
	ct, _ := sealStreaming(t, c, pt)
	ch := split(ct)
	cases := map[string][]byte{
		"empty":           {},
		"tag only":        ct[:stream.Overhead],
		"truncated":       ct[:len(ct)-1],
		"chunk boundary":  ct[:20*enc],
		"batch boundary":  ct[:8*enc],
		"appended byte":   append(bytes.Clone(ct), 0),
		"appended chunk":  join(ct, ch[0]),
		"flip first":      flipAt(ct, 0),
		"flip middle":     flipAt(ct, 33*enc+100),
		"flip last tag":   flipAt(ct, len(ct)-1),
		"swapped":         join(ch[1], ch[0], join(ch[2:]...)),
		"swapped batches": join(join(ch[8:16]...), join(ch[:8]...), join(ch[16:]...)),
		"chunk dropped":   join(join(ch[:30]...), join(ch[31:]...)),
	}
	for name, bad := range cases {
		for _, workers := range []int{1, 3} {
			for _, end := range ends {
				t.Run(fmt.Sprintf("%s/workers=%d/%s", name, workers, end.name), func(t *testing.T) {
					got, _, _, err := runEngine(c, false, bad, workers, end.srcAt, end.dstAt, end.srcPrefix, end.dstPrefix)
					if !errors.Is(err, stream.ErrAuth) {
						t.Fatalf("got %v, want ErrAuth", err)
					}
					if !end.dstAt && (!bytes.HasPrefix(pt, got) || len(got)%cs != 0) {
						t.Fatalf("released %d bytes, not whole chunks of the plaintext", len(got))
					}
				})
			}
		}
	}
}

func flipAt(b []byte, i int) []byte {
	out := bytes.Clone(b)
	out[i] ^= 0x20
	return out
}

// TestEngineSourceError checks that errors of the source and sink are
// returned as they are, not as ErrAuth, and that a bad Source or Sink is
// refused.
func TestEngineSourceError(t *testing.T) {
	c := newCipher(t, testKey(10))
	short := bytes.NewReader(plaintext(100))
	if _, err := stream.Seal(c, stream.Source{At: short, Size: 3 * cs}, stream.Sink{W: io.Discard}, nil); err == nil || errors.Is(err, stream.ErrAuth) {
		t.Errorf("sealing past the end of the input: got %v, want a read error", err)
	}
	ct := seal(t, c, plaintext(20*cs))
	src := io.MultiReader(bytes.NewReader(ct[:11*enc+5]), &errReader{errBoom})
	if _, err := stream.Open(c, stream.Source{R: src}, stream.Sink{W: io.Discard}, nil); !errors.Is(err, errBoom) {
		t.Errorf("source error: got %v, want %v", err, errBoom)
	}
	dst := &failWriter{ok: 1}
	if _, err := stream.Seal(c, stream.Source{R: bytes.NewReader(plaintext(40 * cs))}, stream.Sink{W: dst}, nil); !errors.Is(err, errBoom) {
		t.Errorf("sink error: got %v, want %v", err, errBoom)
	}
	if dst.calls != 2 {
		t.Errorf("the sink was written %d times, want 2: nothing after its error", dst.calls)
	}
	for name, tc := range map[string]struct {
		src stream.Source
		dst stream.Sink
	}{
		"no source":     {stream.Source{}, stream.Sink{W: io.Discard}},
		"two sources":   {stream.Source{R: short, At: short}, stream.Sink{W: io.Discard}},
		"no sink":       {stream.Source{R: short}, stream.Sink{}},
		"two sinks":     {stream.Source{R: short}, stream.Sink{W: io.Discard, At: &sliceWriterAt{}}},
		"negative size": {stream.Source{At: short, Size: -1}, stream.Sink{W: io.Discard}},
	} {
		if _, err := stream.Seal(c, tc.src, tc.dst, nil); err == nil {
			t.Errorf("%s: Seal accepted it", name)
		}
	}
}

type errReader struct{ err error }

func (r *errReader) Read([]byte) (int, error) { return 0, r.err }

// TestReaderWriteTo reads part of a stream with Read and the rest with
// WriteTo (the pipeline): together they are the plaintext, with the digest
// of all of it.
func TestReaderWriteTo(t *testing.T) {
	c := newCipher(t, testKey(12))
	for _, size := range []int{0, 10, cs, 9*cs + 3, 40 * cs} {
		pt := plaintext(size)
		ct, wantDigest := sealStreaming(t, c, pt)
		for _, first := range []int{0, 1, cs, 9 * cs} {
			if first > size {
				continue
			}
			r := stream.NewReader(c, bytes.NewReader(ct), 2)
			d := stream.NewChunkDigest(digestPrefix)
			r.HashTo(d)
			head := make([]byte, first)
			if _, err := io.ReadFull(r, head); err != nil {
				t.Fatal(err)
			}
			var rest bytes.Buffer
			n, err := r.WriteTo(&rest)
			if err != nil || n != int64(size-first) || !bytes.Equal(append(head, rest.Bytes()...), pt) {
				t.Errorf("size %d, %d read first: WriteTo = %d, %v; not the rest of the plaintext", size, first, n, err)
			}
			if !bytes.Equal(d.Sum(nil), wantDigest) {
				t.Errorf("size %d, %d read first: digest differs", size, first)
			}
			if k, err := r.Read(make([]byte, 1)); k != 0 || err != io.EOF {
				t.Errorf("Read after WriteTo = %d, %v; want 0, io.EOF", k, err)
			}
		}
	}
}

// TestEngineMemory checks that memory does not grow with the input: sealing
// and opening 64 MiB from a file, to a file or in order, allocates a few
// MiB at most, and leaves no goroutine behind.
func TestEngineMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB")
	}
	const size = 64 << 20
	c := newCipher(t, testKey(11))
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	if err := os.WriteFile(in, plaintext(size), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	out, err := os.Create(filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	goroutines := runtime.NumGoroutine()
	for _, end := range ends {
		s := stream.Source{R: io.NewSectionReader(src, 0, size)}
		if end.srcAt {
			s = stream.Source{At: src, Size: size}
		}
		d := stream.Sink{W: io.Discard}
		if end.dstAt {
			d = stream.Sink{At: out}
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if _, err := stream.Seal(c, s, d, &stream.Options{Workers: 2}); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		if got := after.TotalAlloc - before.TotalAlloc; got > 8<<20 {
			t.Errorf("%s: sealing %d MiB allocated %d MiB", end.name, size>>20, got>>20)
		}
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		t.Errorf("%d goroutines after the runs, %d before", n, goroutines)
	}
}
