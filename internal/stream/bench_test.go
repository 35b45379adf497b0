package stream_test

import (
	"bytes"
	"fmt"
	"io"
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
