package stream_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/keyblob/keyblob/internal/stream"
)

var benchSizes = []struct {
	name string
	size int
}{
	{"1MiB", 1 << 20},
	{"64MiB", 64 << 20},
}

func BenchmarkSeal(b *testing.B) {
	c := newCipher(b, testKey(30))
	for _, workers := range []int{1, 2} {
		for _, bs := range benchSizes {
			b.Run(fmt.Sprintf("workers=%d/size=%s", workers, bs.name), func(b *testing.B) {
				pt := plaintext(bs.size)
				b.SetBytes(int64(bs.size))
				b.ReportAllocs()
				for b.Loop() {
					w := stream.NewWriter(c, io.Discard, workers)
					if _, err := w.Write(pt); err != nil {
						b.Fatal(err)
					}
					if err := w.Close(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	c := newCipher(b, testKey(31))
	for _, workers := range []int{1, 2} {
		for _, bs := range benchSizes {
			b.Run(fmt.Sprintf("workers=%d/size=%s", workers, bs.name), func(b *testing.B) {
				ct := seal(b, c, plaintext(bs.size))
				src := bytes.NewReader(ct)
				b.SetBytes(int64(bs.size))
				b.ReportAllocs()
				for b.Loop() {
					src.Reset(ct)
					n, err := io.Copy(io.Discard, stream.NewReader(c, src, workers))
					if err != nil || n != int64(bs.size) {
						b.Fatalf("opened %d bytes: %v", n, err)
					}
				}
			})
		}
	}
}

// BenchmarkSealAt and BenchmarkOpenAt measure the file fast path from a
// 64 MiB file, to io.Discard in order and to a file with WriteAt.
func BenchmarkSealAt(b *testing.B) { benchFile(b, true) }
func BenchmarkOpenAt(b *testing.B) { benchFile(b, false) }

func benchFile(b *testing.B, sealing bool) {
	const size = 64 << 20
	c := newCipher(b, testKey(1))
	pt := plaintext(size)
	data := pt
	if !sealing {
		data = seal(b, c, pt)
	}
	dir := b.TempDir()
	path := filepath.Join(dir, "in")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
	src, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	for _, workers := range []int{1, 2} {
		for _, at := range []bool{false, true} {
			b.Run(fmt.Sprintf("workers=%d/writeAt=%v", workers, at), func(b *testing.B) {
				opts := &stream.FileOptions{Workers: workers}
				if at {
					out, err := os.Create(filepath.Join(dir, "out"))
					if err != nil {
						b.Fatal(err)
					}
					defer out.Close()
					opts.DstAt = out
				}
				b.SetBytes(size)
				for b.Loop() {
					var err error
					if sealing {
						err = stream.SealAt(c, src, 0, int64(len(data)), io.Discard, opts)
					} else {
						err = stream.OpenAt(c, src, 0, int64(len(data)), io.Discard, opts)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
