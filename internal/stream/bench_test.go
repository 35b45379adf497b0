package stream_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
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

// BenchmarkEngineSeal and BenchmarkEngineOpen measure Seal and Open of a
// 64 MiB file, read as a stream or at offsets, to io.Discard in order and
// to a file at offsets.
func BenchmarkEngineSeal(b *testing.B) { benchEngine(b, true) }
func BenchmarkEngineOpen(b *testing.B) { benchEngine(b, false) }

func benchEngine(b *testing.B, sealing bool) {
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
	out, err := os.Create(filepath.Join(dir, "out"))
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	run := stream.Open
	if sealing {
		run = stream.Seal
	}
	for _, workers := range []int{1, 2} {
		for _, srcAt := range []bool{false, true} {
			for _, dstAt := range []bool{false, true} {
				b.Run(fmt.Sprintf("workers=%d/readAt=%v/writeAt=%v", workers, srcAt, dstAt), func(b *testing.B) {
					dst := stream.Sink{W: io.Discard}
					if dstAt {
						dst = stream.Sink{At: out}
					}
					b.SetBytes(size)
					for b.Loop() {
						s := stream.Source{R: io.NewSectionReader(src, 0, int64(len(data)))}
						if srcAt {
							s = stream.Source{At: src, Size: int64(len(data))}
						}
						if _, err := run(c, s, dst, &stream.Options{Workers: workers}); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}

// BenchmarkFloorAESGCM is the floor of every payload benchmark: AES-256-GCM
// sealing of 64 KiB chunks on every core, with nothing else (no reading,
// no writing, no ordering). bench/seal-vs-age.sh reports it beside the
// tools.
func BenchmarkFloorAESGCM(b *testing.B) {
	block, err := aes.NewCipher(testKey(31))
	if err != nil {
		b.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(stream.ChunkSize)
	b.RunParallel(func(pb *testing.PB) {
		chunk := make([]byte, stream.ChunkSize, stream.ChunkSize+aead.Overhead())
		nonce := make([]byte, aead.NonceSize())
		for pb.Next() {
			aead.Seal(chunk[:0], nonce, chunk, nil)
		}
	})
}
