package stream_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
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

// fileSizes crosses chunk, window and WriteAt-window boundaries.
var fileSizes = []int{0, 1, cs - 1, cs, cs + 1, 3*cs + 7, 33 * cs, 40*cs + 5}

// sealAtTo seals pt with SealAt from a file, in order or with WriteAt.
func sealAtTo(t *testing.T, c *stream.Cipher, pt []byte, workers int, at bool) ([]byte, []byte) {
	t.Helper()
	dir := t.TempDir()
	src := writeTemp(t, dir, "in", append([]byte("prefix"), pt...))
	d := stream.NewChunkDigest(digestPrefix)
	opts := &stream.FileOptions{Workers: workers, Digest: d}
	var buf bytes.Buffer
	var dst io.Writer = &buf
	var out *os.File
	if at {
		out = createTemp(t, dir, "out")
		opts.DstAt, opts.DstOffset, dst = out, 3, nil
	}
	if err := stream.SealAt(c, src, 6, int64(len(pt)), dst, opts); err != nil {
		t.Fatal(err)
	}
	if at {
		data, err := os.ReadFile(out.Name())
		if err != nil {
			t.Fatal(err)
		}
		return data[3:], d.Sum(nil)
	}
	return buf.Bytes(), d.Sum(nil)
}

func writeTemp(t *testing.T, dir, name string, data []byte) *os.File {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func createTemp(t *testing.T, dir, name string) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestSealAtMatchesWriter(t *testing.T) {
	c := newCipher(t, testKey(7))
	for _, size := range fileSizes {
		pt := plaintext(size)
		want, wantDigest := sealStreaming(t, c, pt)
		for _, workers := range []int{1, 2, 5} {
			for _, at := range []bool{false, true} {
				t.Run(fmt.Sprintf("size=%d/workers=%d/writeAt=%v", size, workers, at), func(t *testing.T) {
					got, digest := sealAtTo(t, c, pt, workers, at)
					if !bytes.Equal(got, want) {
						t.Fatalf("SealAt output differs from Writer output (%d vs %d bytes)", len(got), len(want))
					}
					if !bytes.Equal(digest, wantDigest) {
						t.Fatal("SealAt digest differs from Writer digest")
					}
				})
			}
		}
	}
}

// openAtFrom opens ct with OpenAt from a file, in order or with WriteAt.
func openAtFrom(t *testing.T, c *stream.Cipher, ct []byte, workers int, at bool) ([]byte, []byte, error) {
	t.Helper()
	dir := t.TempDir()
	src := writeTemp(t, dir, "in", append([]byte("xy"), ct...))
	d := stream.NewChunkDigest(digestPrefix)
	opts := &stream.FileOptions{Workers: workers, Digest: d}
	var buf bytes.Buffer
	var dst io.Writer = &buf
	out := createTemp(t, dir, "out")
	if at {
		opts.DstAt, dst = out, nil
	}
	err := stream.OpenAt(c, src, 2, int64(len(ct)), dst, opts)
	if at {
		data, rerr := os.ReadFile(out.Name())
		if rerr != nil {
			t.Fatal(rerr)
		}
		return data, d.Sum(nil), err
	}
	return buf.Bytes(), d.Sum(nil), err
}

func TestOpenAtRoundTrip(t *testing.T) {
	c := newCipher(t, testKey(8))
	for _, size := range fileSizes {
		pt := plaintext(size)
		ct, wantDigest := sealStreaming(t, c, pt)
		r := stream.NewReader(c, bytes.NewReader(ct), 2)
		readerDigest := stream.NewChunkDigest(digestPrefix)
		r.HashTo(readerDigest)
		if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("size %d: Reader: %v", size, err)
		}
		if !bytes.Equal(readerDigest.Sum(nil), wantDigest) {
			t.Fatalf("size %d: Reader digest differs from Writer digest", size)
		}
		for _, workers := range []int{1, 2, 5} {
			for _, at := range []bool{false, true} {
				t.Run(fmt.Sprintf("size=%d/workers=%d/writeAt=%v", size, workers, at), func(t *testing.T) {
					got, digest, err := openAtFrom(t, c, ct, workers, at)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, pt) {
						t.Fatal("OpenAt plaintext differs")
					}
					if !bytes.Equal(digest, wantDigest) {
						t.Fatal("OpenAt digest differs from Writer digest")
					}
				})
			}
		}
	}
}

func TestOpenAtTamper(t *testing.T) {
	c := newCipher(t, testKey(9))
	pt := plaintext(40*cs + 5)
	ct, _ := sealStreaming(t, c, pt)
	cases := map[string][]byte{
		"empty":          {},
		"truncated":      ct[:len(ct)-1],
		"chunk boundary": ct[:20*enc],
		"appended":       append(bytes.Clone(ct), 0),
		"flip first":     flipAt(ct, 0),
		"flip middle":    flipAt(ct, 33*enc+100),
		"flip last tag":  flipAt(ct, len(ct)-1),
		"swapped":        join(ct[enc:2*enc], ct[:enc], ct[2*enc:]),
	}
	for name, bad := range cases {
		for _, at := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/writeAt=%v", name, at), func(t *testing.T) {
				_, _, err := openAtFrom(t, c, bad, 2, at)
				if !errors.Is(err, stream.ErrAuth) {
					t.Fatalf("got %v, want ErrAuth", err)
				}
			})
		}
	}
}

func flipAt(b []byte, i int) []byte {
	out := bytes.Clone(b)
	out[i] ^= 0x20
	return out
}

func TestSealAtShortInput(t *testing.T) {
	c := newCipher(t, testKey(10))
	src := writeTemp(t, t.TempDir(), "in", plaintext(100))
	err := stream.SealAt(c, src, 0, 3*cs, io.Discard, nil)
	if err == nil || errors.Is(err, stream.ErrAuth) {
		t.Fatalf("sealing past the end of the input: got %v, want a read error", err)
	}
}

// TestSealAtMemory checks that memory does not grow with the input: sealing
// and opening 64 MiB with WriteAt or in order allocates a few MiB at most.
func TestSealAtMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB")
	}
	const size = 64 << 20
	c := newCipher(t, testKey(11))
	dir := t.TempDir()
	src := writeTemp(t, dir, "in", plaintext(size))
	for _, at := range []bool{false, true} {
		opts := &stream.FileOptions{Workers: 2}
		if at {
			opts.DstAt = createTemp(t, dir, fmt.Sprintf("out-%v", at))
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if err := stream.SealAt(c, src, 0, size, io.Discard, opts); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		if got := after.TotalAlloc - before.TotalAlloc; got > 8<<20 {
			t.Errorf("writeAt=%v: sealing %d MiB allocated %d MiB", at, size>>20, got>>20)
		}
	}
}
