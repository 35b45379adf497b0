package stream_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/keyblob/keyblob/internal/stream"
)

const (
	cs  = stream.ChunkSize
	enc = stream.EncChunkSize
)

// testKey returns a fixed KeySize-byte key that depends on seed.
func testKey(seed byte) []byte {
	k := make([]byte, stream.KeySize)
	for i := range k {
		k[i] = seed + byte(i)*7
	}
	return k
}

func newCipher(t testing.TB, key []byte) *stream.Cipher {
	t.Helper()
	c, err := stream.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// plaintext returns n deterministic pseudo-random bytes.
func plaintext(n int) []byte {
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], uint64(n))
	p := make([]byte, n)
	rand.NewChaCha8(seed).Read(p)
	return p
}

// sealWith encrypts pt with Write calls whose sizes cycle through pattern;
// a nil pattern means a single Write of all of pt (even when it is empty).
func sealWith(t testing.TB, c *stream.Cipher, pt []byte, workers int, pattern []int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := stream.NewWriter(c, &buf, workers)
	if pattern == nil {
		if n, err := w.Write(pt); err != nil || n != len(pt) {
			t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(pt))
		}
	}
	for i := 0; pattern != nil && len(pt) > 0; i++ {
		n := min(pattern[i%len(pattern)], len(pt))
		if m, err := w.Write(pt[:n]); err != nil || m != n {
			t.Fatalf("Write = %d, %v; want %d, nil", m, err, n)
		}
		pt = pt[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return buf.Bytes()
}

func seal(t testing.TB, c *stream.Cipher, pt []byte) []byte {
	t.Helper()
	return sealWith(t, c, pt, 1, nil)
}

// open decrypts ct with io.ReadAll and returns what the Reader released.
func open(c *stream.Cipher, ct []byte, workers int) ([]byte, error) {
	return io.ReadAll(stream.NewReader(c, bytes.NewReader(ct), workers))
}

// readWith reads r to the end with Read calls into a buffer of size n and
// checks that io.EOF, once returned, is returned again.
func readWith(r io.Reader, n int) ([]byte, error) {
	var out []byte
	buf := make([]byte, n)
	for {
		k, err := r.Read(buf)
		out = append(out, buf[:k]...)
		if err == io.EOF {
			if k, err := r.Read(buf); k != 0 || err != io.EOF {
				return out, fmt.Errorf("Read after io.EOF = %d, %v", k, err)
			}
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// ref is an independent encoder written from the specification with
// crypto/cipher only, used to check the package and to forge chunks.
type ref struct{ aead cipher.AEAD }

func newRef(t testing.TB, key []byte) ref {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return ref{aead}
}

// refNonce is the 11-byte big-endian counter followed by the flag byte.
func refNonce(index uint64, flag byte) []byte {
	n := make([]byte, 12)
	binary.BigEndian.PutUint64(n[3:11], index)
	n[11] = flag
	return n
}

func (r ref) raw(pt, nonce []byte) []byte { return r.aead.Seal(nil, nonce, pt, nil) }

func (r ref) chunk(pt []byte, index uint64, last bool) []byte {
	var flag byte
	if last {
		flag = 1
	}
	return r.raw(pt, refNonce(index, flag))
}

func (r ref) seal(pt []byte) []byte {
	var out []byte
	for i := uint64(0); ; i++ {
		if len(pt) <= cs {
			return append(out, r.chunk(pt, i, true)...)
		}
		out = append(out, r.chunk(pt[:cs], i, false)...)
		pt = pt[cs:]
	}
}

// split cuts a sealed stream into its chunks.
func split(ct []byte) [][]byte {
	var chunks [][]byte
	for len(ct) > enc {
		chunks = append(chunks, ct[:enc:enc])
		ct = ct[enc:]
	}
	return append(chunks, ct)
}

func join(chunks ...[]byte) []byte { return bytes.Join(chunks, nil) }

var sizes = []int{
	0, 1, cs - 1, cs, cs + 1, 2 * cs,
	4*cs + 1, // a little over one batch with one worker
	8 * cs,   // exactly one batch with two workers
	9*cs + 7,
	32 * cs, // exactly one batch with eight workers
	70*cs + 5,
}

var writePatterns = []struct {
	name    string
	pattern []int
	maxSize int // skip larger plaintexts (too slow), 0: no limit
}{
	{"one write", nil, 0},
	{"1 byte", []int{1}, 4*cs + 1},
	{"4097 bytes", []int{4097}, 0},
	{"mixed", []int{1, 4097, 0, cs - 1, cs + 1, 3*cs + 7, 17}, 0},
}

var readPatterns = []struct {
	name    string
	read    func(r io.Reader) ([]byte, error)
	wrap    func(r io.Reader) io.Reader
	maxSize int
}{
	{"ReadAll", io.ReadAll, nil, 0},
	{"1 byte buffer", func(r io.Reader) ([]byte, error) { return readWith(r, 1) }, nil, 2*cs + 1},
	{"1000 byte buffer", func(r io.Reader) ([]byte, error) { return readWith(r, 1000) }, nil, 0},
	{"big buffer", func(r io.Reader) ([]byte, error) { return readWith(r, 3*cs+5) }, nil, 0},
	{"one byte source", io.ReadAll, iotest.OneByteReader, 2*cs + 1},
	{"half source", io.ReadAll, iotest.HalfReader, 0},
	{"data+EOF source", io.ReadAll, iotest.DataErrReader, 0},
}

func TestRoundTrip(t *testing.T) {
	c := newCipher(t, testKey(1))
	for _, size := range sizes {
		pt := plaintext(size)
		for _, workers := range []int{1, 2, 8} {
			for _, wp := range writePatterns {
				if wp.maxSize > 0 && size > wp.maxSize {
					continue
				}
				t.Run(fmt.Sprintf("size=%d/workers=%d/%s", size, workers, wp.name), func(t *testing.T) {
					ct := sealWith(t, c, pt, workers, wp.pattern)
					if got, want := int64(len(ct)), stream.EncryptedSize(int64(size)); got != want {
						t.Errorf("ciphertext is %d bytes, EncryptedSize says %d", got, want)
					}
					if n, err := stream.PlaintextSize(int64(len(ct))); err != nil || n != int64(size) {
						t.Errorf("PlaintextSize(%d) = %d, %v; want %d", len(ct), n, err, size)
					}
					for _, rp := range readPatterns {
						if rp.maxSize > 0 && size > rp.maxSize {
							continue
						}
						var src io.Reader = bytes.NewReader(ct)
						if rp.wrap != nil {
							src = rp.wrap(src)
						}
						got, err := rp.read(stream.NewReader(c, src, workers))
						if err != nil {
							t.Errorf("%s: %v", rp.name, err)
							continue
						}
						if !bytes.Equal(got, pt) {
							t.Errorf("%s: got %d bytes, not the plaintext of %d bytes", rp.name, len(got), size)
						}
					}
				})
			}
		}
	}
}

func TestIOTestReader(t *testing.T) {
	c := newCipher(t, testKey(1))
	for _, size := range []int{0, 1, 1000, cs, 2*cs + 10} {
		pt := plaintext(size)
		ct := seal(t, c, pt)
		for _, workers := range []int{1, 2} {
			t.Run(fmt.Sprintf("size=%d/workers=%d", size, workers), func(t *testing.T) {
				if err := iotest.TestReader(stream.NewReader(c, bytes.NewReader(ct), workers), pt); err != nil {
					t.Error(err)
				}
			})
		}
	}
}

func TestCanonical(t *testing.T) {
	key := testKey(2)
	c := newCipher(t, key)
	r := newRef(t, key)
	for _, size := range []int{0, 1, cs - 1, cs, cs + 1, 2 * cs, 9*cs + 7, 70*cs + 5} {
		pt := plaintext(size)
		want := r.seal(pt)
		for _, workers := range []int{0, 1, 2, 8} {
			for _, wp := range writePatterns {
				if wp.maxSize > 0 && size > wp.maxSize {
					continue
				}
				t.Run(fmt.Sprintf("size=%d/workers=%d/%s", size, workers, wp.name), func(t *testing.T) {
					if got := sealWith(t, c, pt, workers, wp.pattern); !bytes.Equal(got, want) {
						t.Errorf("ciphertext (%d bytes) differs from the reference encoding (%d bytes)", len(got), len(want))
					}
				})
			}
		}
	}
}

// TestVector pins the encoding: a change to it breaks every stored file.
// The values were checked against an independent AES-GCM implementation;
// the first two are the test vectors of spec/stream.md.
func TestVector(t *testing.T) {
	key := make([]byte, stream.KeySize)
	for i := range key {
		key[i] = byte(i)
	}
	c := newCipher(t, key)
	pt := make([]byte, 2*cs+10)
	for i := range pt {
		pt[i] = byte(i*31 + 7)
	}
	for _, tc := range []struct {
		name string
		pt   []byte
		want string
	}{
		{"empty", nil, "367ef8288831557408e102950a16e26a"},
		{"hello", []byte("hello, world\n"), "7db3d3902bd81069615c3d5de613f75638da5eac7a269e7f1522ddb5ac"},
		{"3 chunks", pt, "sha256:d17328abf5e46e1de7ef6b98bdac1409e9c93a3d6353a7f560dd5b5b9bec5bdf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct := seal(t, c, tc.pt)
			got := hex.EncodeToString(ct)
			if len(ct) > 64 {
				sum := sha256.Sum256(ct)
				got = "sha256:" + hex.EncodeToString(sum[:])
			}
			if got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestNewCipher(t *testing.T) {
	for _, n := range []int{0, 1, 16, 24, 31, 33, 64} {
		if _, err := stream.NewCipher(make([]byte, n)); err == nil {
			t.Errorf("NewCipher accepted a %d-byte key", n)
		}
	}
	if _, err := stream.NewCipher(make([]byte, stream.KeySize)); err != nil {
		t.Errorf("NewCipher: %v", err)
	}
}

func TestSealChunkWrongSize(t *testing.T) {
	c := newCipher(t, testKey(1))
	for _, tc := range []struct {
		size int
		last bool
	}{
		{cs + 1, true}, {cs + 1, false}, {cs - 1, false}, {0, false},
	} {
		t.Run(fmt.Sprintf("size=%d/last=%v", tc.size, tc.last), func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("SealChunk did not panic")
				}
			}()
			c.SealChunk(nil, make([]byte, tc.size), 0, tc.last)
		})
	}
}

func TestSizes(t *testing.T) {
	for _, tc := range []struct{ plain, sealed int64 }{
		{0, 16},
		{1, 17},
		{cs - 1, enc - 1},
		{cs, enc},
		{cs + 1, enc + 17},
		{2 * cs, 2 * enc},
		{70*cs + 5, 70*enc + 21},
		{1 << 40, (1 << 40) + (1<<24)*stream.Overhead},
	} {
		if got := stream.EncryptedSize(tc.plain); got != tc.sealed {
			t.Errorf("EncryptedSize(%d) = %d, want %d", tc.plain, got, tc.sealed)
		}
		if got, err := stream.PlaintextSize(tc.sealed); err != nil || got != tc.plain {
			t.Errorf("PlaintextSize(%d) = %d, %v; want %d", tc.sealed, got, err, tc.plain)
		}
	}
	for _, n := range []int64{-1, -enc, 0, 1, 15, enc + 1, enc + 15, enc + 16, 2*enc + 16, 5*enc + 3} {
		if got, err := stream.PlaintextSize(n); !errors.Is(err, stream.ErrAuth) {
			t.Errorf("PlaintextSize(%d) = %d, %v; want ErrAuth", n, got, err)
		}
	}
	// Exhaustively: every size EncryptedSize produces is accepted and maps
	// back, and PlaintextSize accepts nothing else.
	valid := make(map[int64]bool)
	for m := int64(0); m <= 3*cs; m++ {
		valid[stream.EncryptedSize(m)] = true
	}
	for n := int64(0); n <= 3*enc; n++ {
		m, err := stream.PlaintextSize(n)
		switch {
		case valid[n] && (err != nil || stream.EncryptedSize(m) != n):
			t.Fatalf("PlaintextSize(%d) = %d, %v; want the inverse of EncryptedSize", n, m, err)
		case !valid[n] && err == nil:
			t.Fatalf("PlaintextSize(%d) = %d, nil; want an error", n, m)
		}
	}
}

// checkAuthFail opens ct and checks that it fails with ErrAuth and
// releases no plaintext at all.
func checkAuthFail(t *testing.T, c *stream.Cipher, ct []byte, workers int, what string) {
	t.Helper()
	got, err := open(c, ct, workers)
	if !errors.Is(err, stream.ErrAuth) {
		t.Errorf("%s: err = %v, want ErrAuth", what, err)
	}
	if len(got) != 0 {
		t.Errorf("%s: %d bytes of plaintext released", what, len(got))
	}
}

func TestTamper(t *testing.T) {
	key := testKey(5)
	c := newCipher(t, key)
	r := newRef(t, key)
	other := newRef(t, testKey(6))

	pt := plaintext(2*cs + 10) // chunks of 64 KiB, 64 KiB, 10 bytes
	ct := seal(t, c, pt)
	ch := split(ct)
	ptFull := plaintext(2 * cs) // two full chunks, the second is last
	ctFull := seal(t, c, ptFull)
	chFull := split(ctFull)
	if len(ch) != 3 || len(chFull) != 2 {
		t.Fatalf("got %d and %d chunks", len(ch), len(chFull))
	}

	cases := []struct {
		name string
		ct   []byte
	}{
		{"empty input", nil},
		{"appended byte", join(ct, []byte{0})},
		{"appended byte after full last chunk", join(ctFull, []byte{0})},
		{"appended 16 bytes after full last chunk", join(ctFull, make([]byte, 16))},
		{"appended non-last chunk", join(ct, r.chunk(plaintext(cs), 3, false))},
		{"appended last chunk", join(ct, r.chunk(plaintext(cs), 3, true))},
		{"appended non-last chunk after full last chunk", join(ctFull, r.chunk(plaintext(cs), 2, false))},
		{"appended last chunk after full last chunk", join(ctFull, r.chunk(plaintext(cs), 2, true))},
		{"appended short last chunk after full last chunk", join(ctFull, r.chunk([]byte("x"), 2, true))},
		{"appended empty last chunk after full last chunk", join(ctFull, r.chunk(nil, 2, true))},
		{"empty last chunk after one full chunk", join(r.chunk(ptFull[:cs], 0, false), r.chunk(nil, 1, true))},
		{"empty last chunk after two full chunks", join(chFull[0], r.chunk(ptFull[cs:], 1, false), r.chunk(nil, 2, true))},
		{"swapped chunks 0 and 1", join(ch[1], ch[0], ch[2])},
		{"swapped chunks 1 and 2", join(ch[0], ch[2], ch[1])},
		{"swapped full chunks", join(chFull[1], chFull[0])},
		{"duplicated chunk 0", join(ch[0], ch[0], ch[1], ch[2])},
		{"duplicated chunk 1", join(ch[0], ch[1], ch[1], ch[2])},
		{"duplicated last chunk", join(ch[0], ch[1], ch[2], ch[2])},
		{"duplicated full last chunk", join(chFull[0], chFull[1], chFull[1])},
		{"dropped chunk 0", join(ch[1], ch[2])},
		{"dropped chunk 1", join(ch[0], ch[2])},
		{"dropped last chunk", join(ch[0], ch[1])},
		{"dropped full last chunk", chFull[0]},
		{"last chunk re-sealed as non-last", join(ch[0], ch[1], r.chunk(pt[2*cs:], 2, false))},
		{"full last chunk re-sealed as non-last", join(chFull[0], r.chunk(ptFull[cs:], 1, false))},
		{"first chunk re-sealed as last", join(r.chunk(pt[:cs], 0, true), ch[1], ch[2])},
		{"last flag 0x02", join(ch[0], ch[1], r.raw(pt[2*cs:], refNonce(2, 2)))},
		{"last flag 0xff", join(ch[0], ch[1], r.raw(pt[2*cs:], refNonce(2, 0xff)))},
		{"counter high byte set", join(r.raw(pt[:cs], append([]byte{1}, refNonce(0, 0)[1:]...)), ch[1], ch[2])},
		{"chunk from another key", join(ch[0], other.chunk(pt[cs:2*cs], 1, false), ch[2])},
		{"whole stream under another key", other.seal(pt)},
		{"empty stream under another key", other.seal(nil)},
		{"empty plaintext sealed as non-last", r.chunk(nil, 0, false)},
		{"empty plaintext at index 1", r.chunk(nil, 1, true)},
		{"single chunk at index 1", r.chunk(pt[:10], 1, true)},
		{"chunk sealed with additional data", join(ch[0], ch[1], r.aead.Seal(nil, refNonce(2, 1), pt[2*cs:], []byte("x")))},
	}
	// Truncation at every chunk boundary, one byte either side, and in the
	// last tag.
	cuts := []int{1, stream.Overhead - 1, stream.Overhead, len(ct) - stream.Overhead, len(ct) - 1}
	for k := 0; k*enc <= len(ct); k++ {
		cuts = append(cuts, k*enc-1, k*enc, k*enc+1)
	}
	for _, n := range cuts {
		if n >= 0 && n < len(ct) {
			cases = append(cases, struct {
				name string
				ct   []byte
			}{fmt.Sprintf("truncated to %d", n), ct[:n]})
		}
	}
	for _, n := range []int{enc - 1, enc, enc + 1, 2*enc - 1} {
		cases = append(cases, struct {
			name string
			ct   []byte
		}{fmt.Sprintf("full-chunk stream truncated to %d", n), ctFull[:n]})
	}

	for _, workers := range []int{1, 2, 8} {
		for _, tc := range cases {
			t.Run(fmt.Sprintf("workers=%d/%s", workers, tc.name), func(t *testing.T) {
				checkAuthFail(t, c, tc.ct, workers, tc.name)
			})
		}
		t.Run(fmt.Sprintf("workers=%d/wrong key", workers), func(t *testing.T) {
			wrong := newCipher(t, testKey(7))
			checkAuthFail(t, wrong, ct, workers, "wrong key")
			checkAuthFail(t, wrong, ctFull, workers, "wrong key, full chunks")
			checkAuthFail(t, wrong, seal(t, c, nil), workers, "wrong key, empty plaintext")
		})
	}

	// The untouched streams and the forged-but-valid reference encodings
	// must open: the cases above fail for the reason they claim.
	for _, good := range [][]byte{ct, ctFull, r.seal(pt), join(r.chunk(ptFull[:cs], 0, false), r.chunk(ptFull[cs:], 1, true))} {
		if _, err := open(c, good, 1); err != nil {
			t.Fatalf("untampered stream: %v", err)
		}
	}
}

// flipPositions returns sampled bit positions of a stream: the first two
// bytes and the whole tag of every chunk, and random bits of every body.
func flipPositions(ct []byte) []int {
	rng := rand.New(rand.NewPCG(1, 2))
	var pos []int
	for start := 0; start < len(ct); start += enc {
		end := min(start+enc, len(ct))
		for b := start * 8; b < (start+2)*8; b++ {
			pos = append(pos, b)
		}
		for b := (end - stream.Overhead) * 8; b < end*8; b++ {
			pos = append(pos, b)
		}
		for range 48 {
			pos = append(pos, start*8+rng.IntN((end-start)*8))
		}
	}
	return pos
}

func TestBitFlips(t *testing.T) {
	c := newCipher(t, testKey(8))
	ct := seal(t, c, plaintext(2*cs+10))
	pos := flipPositions(ct)
	if len(pos) < 300 {
		t.Fatalf("only %d positions", len(pos))
	}
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			buf := make([]byte, len(ct))
			for _, p := range pos {
				copy(buf, ct)
				buf[p/8] ^= 1 << (p % 8)
				checkAuthFail(t, c, buf, workers, fmt.Sprintf("bit %d (chunk %d, byte %d)", p, p/8/enc, p/8%enc))
			}
		})
	}
}

// TestTamperMultiBatch checks what a Reader releases before it finds a bad
// chunk far into a stream: only authentic plaintext, as whole chunks, and
// nothing from the bad chunk on.
func TestTamperMultiBatch(t *testing.T) {
	key := testKey(9)
	c := newCipher(t, key)
	r := newRef(t, key)
	pt := plaintext(70*cs + 5)
	ct := seal(t, c, pt)
	ch := split(ct)
	nchunks := len(ch)

	type tcase struct {
		name string
		ct   []byte
		bad  int // index of the first chunk that cannot be authenticated
	}
	var cases []tcase
	for _, k := range []int{0, 3, 4, 7, 8, 31, 32, 63, 64, 65, nchunks - 1} {
		b := bytes.Clone(ct)
		b[k*enc+min(100, len(ch[k])-1)] ^= 0x40
		cases = append(cases, tcase{fmt.Sprintf("bit flip in chunk %d", k), b, k})
	}
	for _, k := range []int{5, 40, 66} {
		// Truncated right after chunk k: chunk k looks last but is not.
		cases = append(cases, tcase{fmt.Sprintf("truncated after chunk %d", k), ct[:(k+1)*enc], k})
		cases = append(cases, tcase{fmt.Sprintf("truncated inside chunk %d", k), ct[:k*enc+77], k})
		cases = append(cases, tcase{fmt.Sprintf("chunk %d dropped", k), join(join(ch[:k]...), join(ch[k+1:]...)), k})
	}
	cases = append(cases,
		tcase{"chunks 40 and 41 swapped", join(join(ch[:40]...), ch[41], ch[40], join(ch[42:]...)), 40},
		tcase{"appended byte", join(ct, []byte{1}), nchunks - 1},
		tcase{"appended chunk", join(ct, r.chunk(plaintext(cs), uint64(nchunks), true)), nchunks - 1},
	)

	for _, workers := range []int{1, 2, 8} {
		for _, tc := range cases {
			t.Run(fmt.Sprintf("workers=%d/%s", workers, tc.name), func(t *testing.T) {
				got, err := open(c, tc.ct, workers)
				if !errors.Is(err, stream.ErrAuth) {
					t.Errorf("err = %v, want ErrAuth", err)
				}
				if !bytes.HasPrefix(pt, got) {
					t.Fatalf("released %d bytes that are not a prefix of the plaintext", len(got))
				}
				if len(got)%cs != 0 {
					t.Errorf("released %d bytes, not a whole number of chunks", len(got))
				}
				if len(got) > tc.bad*cs {
					t.Errorf("released %d bytes, up to chunk %d; the bad chunk is %d", len(got), len(got)/cs, tc.bad)
				}
				// A Reader holds at most 64 chunks (4 MiB): it streams.
				if tc.bad > 64 && len(got) == 0 {
					t.Errorf("nothing released before bad chunk %d", tc.bad)
				}
			})
		}
	}
}

var errBoom = errors.New("boom")

// TestReaderSourceError checks that an error of the underlying reader is
// returned as is, wherever it happens, and is sticky.
func TestReaderSourceError(t *testing.T) {
	c := newCipher(t, testKey(10))
	for _, size := range []int{0, 2*cs + 10, 2 * cs, 20*cs + 3} {
		pt := plaintext(size)
		ct := seal(t, c, pt)
		cuts := []int{0, 1, len(ct) - 1, len(ct)}
		for k := 1; k*enc <= len(ct); k++ {
			cuts = append(cuts, k*enc-1, k*enc, k*enc+1)
		}
		for _, workers := range []int{1, 2} {
			for _, n := range cuts {
				if n < 0 || n > len(ct) {
					continue
				}
				t.Run(fmt.Sprintf("size=%d/workers=%d/after %d bytes", size, workers, n), func(t *testing.T) {
					src := io.MultiReader(bytes.NewReader(ct[:n]), iotest.ErrReader(errBoom))
					r := stream.NewReader(c, src, workers)
					got, err := io.ReadAll(r)
					if !errors.Is(err, errBoom) || errors.Is(err, stream.ErrAuth) {
						t.Errorf("err = %v, want %v", err, errBoom)
					}
					if !bytes.HasPrefix(pt, got) {
						t.Errorf("released %d bytes that are not a prefix of the plaintext", len(got))
					}
					if k, err := r.Read(make([]byte, 10)); k != 0 || !errors.Is(err, errBoom) {
						t.Errorf("second Read = %d, %v; want 0, %v", k, err, errBoom)
					}
				})
			}
		}
	}
}

func TestWriterCloseTwice(t *testing.T) {
	c := newCipher(t, testKey(11))
	for _, size := range []int{0, 10, cs, 5*cs + 1} {
		pt := plaintext(size)
		var buf bytes.Buffer
		w := stream.NewWriter(c, &buf, 2)
		if _, err := w.Write(pt); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if err := w.Close(); err != nil {
				t.Fatalf("Close #%d: %v", i+1, err)
			}
		}
		if !bytes.Equal(buf.Bytes(), seal(t, c, pt)) {
			t.Errorf("size %d: output differs after repeated Close (%d bytes)", size, buf.Len())
		}
	}
}

func TestWriteAfterClose(t *testing.T) {
	c := newCipher(t, testKey(12))
	var buf bytes.Buffer
	w := stream.NewWriter(c, &buf, 1)
	if _, err := w.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	size := buf.Len()
	for _, p := range [][]byte{[]byte("more"), make([]byte, 10*cs)} {
		if n, err := w.Write(p); err == nil || n != 0 {
			t.Errorf("Write of %d bytes after Close = %d, %v; want 0, an error", len(p), n, err)
		}
	}
	if buf.Len() != size {
		t.Errorf("output grew from %d to %d bytes after Close", size, buf.Len())
	}
	if err := w.Close(); err != nil {
		t.Errorf("Close after a refused Write: %v", err)
	}
}

// failWriter accepts ok calls to Write and fails the following ones.
type failWriter struct {
	ok    int
	calls int
	n     int
}

func (f *failWriter) Write(p []byte) (int, error) {
	f.calls++
	if f.calls > f.ok {
		return 0, errBoom
	}
	f.n += len(p)
	return len(p), nil
}

func TestWriterDestinationError(t *testing.T) {
	c := newCipher(t, testKey(13))
	for _, tc := range []struct {
		name    string
		size    int
		ok      int  // Write calls that succeed
		inWrite bool // whether the error shows in Write (else in Close)
	}{
		{"small, fails at Close", 10, 0, false},
		{"empty, fails at Close", 0, 0, false},
		{"large, fails in Write", 20 * cs, 0, true},
		{"large, fails in a later Write", 20 * cs, 1, true},
		{"large, fails at Close", 20 * cs, 1000, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// write writes in pieces and stops at the first error.
			write := func(w *stream.Writer) error {
				pt := plaintext(tc.size)
				for len(pt) > 0 {
					n := min(3*cs+1, len(pt))
					if _, err := w.Write(pt[:n]); err != nil {
						return err
					}
					pt = pt[n:]
				}
				return nil
			}
			dst := &failWriter{ok: tc.ok}
			if tc.ok == 1000 {
				// Count the Write calls of a successful run, then fail the last.
				probe := &failWriter{ok: 1 << 30}
				w := stream.NewWriter(c, probe, 1)
				if err := write(w); err != nil {
					t.Fatal(err)
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				dst.ok = probe.calls - 1
			}
			w := stream.NewWriter(c, dst, 1)
			werr := write(w)
			if tc.inWrite != (werr != nil) {
				t.Fatalf("Write error = %v, want an error: %v", werr, tc.inWrite)
			}
			if werr != nil && !errors.Is(werr, errBoom) {
				t.Errorf("Write error = %v, want %v", werr, errBoom)
			}
			if werr == nil {
				if err := w.Close(); !errors.Is(err, errBoom) {
					t.Fatalf("Close = %v, want %v", err, errBoom)
				}
			}
			calls := dst.calls
			// The error is sticky: later calls return it and write nothing.
			for _, p := range [][]byte{[]byte("x"), make([]byte, 10*cs)} {
				if n, err := w.Write(p); n != 0 || !errors.Is(err, errBoom) {
					t.Errorf("Write after the error = %d, %v; want 0, %v", n, err, errBoom)
				}
			}
			for i := range 2 {
				if err := w.Close(); !errors.Is(err, errBoom) {
					t.Errorf("Close after the error #%d = %v, want %v", i+1, err, errBoom)
				}
			}
			if dst.calls != calls {
				t.Errorf("the destination was written to again after its error")
			}
		})
	}
}

// shortWriter reports writing one byte less than it was given.
type shortWriter struct{}

func (shortWriter) Write(p []byte) (int, error) { return max(len(p)-1, 0), nil }

func TestWriterShortWrite(t *testing.T) {
	c := newCipher(t, testKey(14))
	w := stream.NewWriter(c, shortWriter{}, 1)
	if _, err := w.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); !errors.Is(err, io.ErrShortWrite) {
		t.Errorf("Close = %v, want %v", err, io.ErrShortWrite)
	}
}

// TestWriterDoesNotRetain checks that the Writer neither keeps nor
// modifies the slices it is given.
func TestWriterDoesNotRetain(t *testing.T) {
	c := newCipher(t, testKey(15))
	for _, size := range []int{10, cs + 3, 9*cs + 1} {
		for _, workers := range []int{1, 2} {
			pt := plaintext(size)
			buf := bytes.Clone(pt)
			var out bytes.Buffer
			w := stream.NewWriter(c, &out, workers)
			for off := 0; off < len(buf); off += 5000 {
				p := buf[off:min(off+5000, len(buf))]
				if _, err := w.Write(p); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(p, pt[off:off+len(p)]) {
					t.Fatalf("Write modified its argument")
				}
				clear(p)
			}
			big := bytes.Clone(pt)
			var out2 bytes.Buffer
			w2 := stream.NewWriter(c, &out2, workers)
			if _, err := w2.Write(big); err != nil {
				t.Fatal(err)
			}
			clear(big)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if err := w2.Close(); err != nil {
				t.Fatal(err)
			}
			for _, o := range []*bytes.Buffer{&out, &out2} {
				if got, err := open(c, o.Bytes(), 1); err != nil || !bytes.Equal(got, pt) {
					t.Errorf("size %d workers %d: round trip after clearing the written slices failed: %v", size, workers, err)
				}
			}
		}
	}
}

// countWriter counts the bytes written through it.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// TestLargeStreamConstantMemory sends 256 MiB through a Writer, a pipe and
// a Reader, and checks the result by hash and the heap by sampling.
func TestLargeStreamConstantMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("256 MiB stream skipped in -short mode")
	}
	const (
		total   = 256 << 20
		workers = 2
		limit   = 64 << 20
	)
	c := newCipher(t, testKey(16))

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	var (
		mu      sync.Mutex
		maxHeap uint64
	)
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		mu.Lock()
		maxHeap = max(maxHeap, ms.HeapInuse)
		mu.Unlock()
	}
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				sample()
			}
		}
	}()

	inHash := sha256.New()
	pr, pw := io.Pipe()
	w := stream.NewWriter(c, pw, workers)
	werr := make(chan error, 1)
	go func() {
		src := io.TeeReader(io.LimitReader(rand.NewChaCha8([32]byte{1}), total), inHash)
		_, err := io.Copy(w, src)
		if err == nil {
			err = w.Close()
		}
		pw.CloseWithError(err)
		werr <- err
	}()

	var sealed countWriter
	r := stream.NewReader(c, io.TeeReader(pr, &sealed), workers)
	outHash := sha256.New()
	n, err := io.Copy(outHash, r)
	if err != nil {
		t.Fatalf("decrypting: %v", err)
	}
	if err := <-werr; err != nil {
		t.Fatalf("encrypting: %v", err)
	}
	sample() // after the copy, with the Writer and Reader still alive
	close(stop)
	<-sampled
	runtime.KeepAlive(w)
	runtime.KeepAlive(r)
	var after runtime.MemStats
	runtime.ReadMemStats(&after)

	if n != total {
		t.Errorf("decrypted %d bytes, want %d", n, total)
	}
	if want := stream.EncryptedSize(total); sealed.n != want {
		t.Errorf("stream is %d bytes, want %d", sealed.n, want)
	}
	if !bytes.Equal(inHash.Sum(nil), outHash.Sum(nil)) {
		t.Errorf("SHA-256 of the output %x differs from the input's %x", outHash.Sum(nil), inHash.Sum(nil))
	}
	t.Logf("HeapInuse: %d KiB before, at most %d KiB during; %d KiB allocated",
		before.HeapInuse>>10, maxHeap>>10, (after.TotalAlloc-before.TotalAlloc)>>10)
	if maxHeap >= limit {
		t.Errorf("HeapInuse reached %d MiB, want below %d MiB", maxHeap>>20, limit>>20)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc >= limit {
		t.Errorf("allocated %d MiB for a %d MiB stream, want below %d MiB", alloc>>20, total>>20, limit>>20)
	}
}

func ExampleNewWriter() {
	// A real payload key is unique per message, derived with HKDF from a
	// random nonce (see spec/stream.md); this fixed one is for the example.
	key := bytes.Repeat([]byte{0x42}, stream.KeySize)
	c, err := stream.NewCipher(key)
	if err != nil {
		log.Fatal(err)
	}

	var sealed bytes.Buffer
	w := stream.NewWriter(c, &sealed, 0)
	if _, err := io.WriteString(w, "hello, world\n"); err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("sealed bytes:", sealed.Len(), "=", stream.EncryptedSize(13))

	r := stream.NewReader(c, &sealed, 0)
	plain, err := io.ReadAll(r)
	if err != nil {
		// Discard anything read before an error: it is not the whole message.
		log.Fatal(err)
	}
	fmt.Print(string(plain))
	// Output:
	// sealed bytes: 29 = 29
	// hello, world
}
