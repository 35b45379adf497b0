package stream_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/keyblob/keyblob/internal/stream"
)

// FuzzOpen opens arbitrary bytes under a fixed key. It must never panic;
// a failure must be ErrAuth after releasing only whole, authentic chunks;
// and a stream that opens must be the one encoding of its plaintext.
func FuzzOpen(f *testing.F) {
	c := newCipher(f, testKey(20))
	for _, size := range []int{0, 1, 100} {
		ct := seal(f, c, plaintext(size))
		f.Add(ct)
		f.Add(ct[:len(ct)-1])
		f.Add(append(bytes.Clone(ct), 0))
	}
	f.Add([]byte{})
	f.Add(make([]byte, stream.Overhead))
	f.Add([]byte("kblb\x65\x01\x01 not a stream at all"))
	// The seeds are small on purpose: inputs over a chunk are slow to run and
	// very slow to minimize, which stalls short fuzzing runs. Streams of
	// several chunks are covered by the deterministic tests.

	f.Fuzz(func(t *testing.T, ct []byte) {
		for _, workers := range []int{1, 2} {
			got, err := open(c, ct, workers)
			if err != nil {
				if !errors.Is(err, stream.ErrAuth) {
					t.Fatalf("workers=%d: err = %v, want ErrAuth", workers, err)
				}
				// What was released must be whole chunks that were sealed as
				// non-last chunks at their positions.
				if len(got)%cs != 0 {
					t.Fatalf("workers=%d: released %d bytes, not whole chunks", workers, len(got))
				}
				var resealed []byte
				for i := 0; i*cs < len(got); i++ {
					resealed = c.SealChunk(resealed, got[i*cs:(i+1)*cs], uint64(i), false)
				}
				if !bytes.HasPrefix(ct, resealed) {
					t.Fatalf("workers=%d: released plaintext is not authentic", workers)
				}
				continue
			}
			if re := seal(t, c, got); !bytes.Equal(re, ct) {
				t.Fatalf("workers=%d: opened %d bytes, but they seal to a different %d-byte stream than the %d-byte input",
					workers, len(got), len(re), len(ct))
			}
			if n, err := stream.PlaintextSize(int64(len(ct))); err != nil || n != int64(len(got)) {
				t.Fatalf("PlaintextSize(%d) = %d, %v; opened %d bytes", len(ct), n, err, len(got))
			}
		}
	})
}

// FuzzRoundTrip seals arbitrary plaintext with 1 to 4 workers, split into
// two Writes at an arbitrary point, and opens it again. The plaintext is
// size%maxFuzzSize bytes: data repeated (zeros if data is empty). Its length
// does not depend on len(data), so the fuzzing engine, which minimizes
// []byte arguments in time quadratic in their length, can cut data short
// at once instead of running thousands of slow large round trips.
func FuzzRoundTrip(f *testing.F) {
	const maxFuzzSize = 5*cs + 100 // more than one batch with one worker
	c := newCipher(f, testKey(21))
	f.Add([]byte{}, uint8(0), uint32(0), uint32(0))
	f.Add([]byte("hello, world"), uint8(1), uint32(5), uint32(12))
	f.Add([]byte{0xff}, uint8(2), uint32(cs), uint32(2*cs-1))
	f.Add([]byte("abc"), uint8(3), uint32(cs+1), uint32(2*cs))
	f.Add([]byte("0123456789"), uint8(0), uint32(4*cs), uint32(5*cs+7))
	f.Add(plaintext(100), uint8(1), uint32(cs), uint32(cs))
	f.Add([]byte{}, uint8(0), uint32(cs), uint32(4*cs))

	f.Fuzz(func(t *testing.T, data []byte, workers uint8, at, size uint32) {
		w := 1 + int(workers%4)
		pt := make([]byte, size%maxFuzzSize)
		for i := 0; len(data) > 0 && i < len(pt); i += len(data) {
			copy(pt[i:], data)
		}
		at %= uint32(len(pt) + 1)

		var buf bytes.Buffer
		sw := stream.NewWriter(c, &buf, w)
		for _, p := range [][]byte{pt[:at], pt[at:]} {
			if n, err := sw.Write(p); err != nil || n != len(p) {
				t.Fatalf("Write = %d, %v; want %d", n, err, len(p))
			}
		}
		if err := sw.Close(); err != nil {
			t.Fatal(err)
		}
		ct := buf.Bytes()
		if int64(len(ct)) != stream.EncryptedSize(int64(len(pt))) {
			t.Fatalf("sealed %d bytes into %d, EncryptedSize says %d", len(pt), len(ct), stream.EncryptedSize(int64(len(pt))))
		}
		if n, err := stream.PlaintextSize(int64(len(ct))); err != nil || n != int64(len(pt)) {
			t.Fatalf("PlaintextSize(%d) = %d, %v; want %d", len(ct), n, err, len(pt))
		}
		if want := seal(t, c, pt); !bytes.Equal(ct, want) {
			t.Fatalf("encoding depends on workers or write split")
		}
		got, err := io.ReadAll(stream.NewReader(c, bytes.NewReader(ct), w))
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		if !bytes.Equal(got, pt) {
			t.Fatalf("round trip of %d bytes gave %d different bytes", len(pt), len(got))
		}
	})
}
