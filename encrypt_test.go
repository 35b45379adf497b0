package keyblob

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/keyblob/keyblob/internal/format"
	"github.com/keyblob/keyblob/internal/stream"
)

// testPlaintext returns n deterministic pseudo-random bytes.
func testPlaintext(n int, seed uint64) []byte {
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16)})
	b := make([]byte, n)
	r.Read(b)
	return b
}

func encrypt(t testing.TB, key *SessionKey, plaintext []byte, workers int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := Encrypt(&buf, key, &EncryptOptions{Workers: workers})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(plaintext); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func decrypt(data []byte, key *SessionKey, workers int) ([]byte, error) {
	r, err := Decrypt(bytes.NewReader(data), key, &EncryptOptions{Workers: workers})
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// encryptedErrorClass names the outcome of decrypting a file, as the test
// vectors do.
func encryptedErrorClass(err error) string {
	switch {
	case err == nil:
		return "success"
	case errors.Is(err, ErrMalformedEncryptedFile), errors.Is(err, format.ErrUnsupportedVersion):
		return "malformed"
	case errors.Is(err, ErrAuth):
		return "auth failure"
	case errors.Is(err, ErrWrongSessionKey):
		return "wrong session key"
	}
	return "unexpected error: " + err.Error()
}

func TestEncryptDecrypt(t *testing.T) {
	key := NewSessionKey()
	const chunk = stream.ChunkSize
	for _, size := range []int{0, 1, chunk - 1, chunk, chunk + 1, 2*chunk + 1, 1 << 20} {
		for _, workers := range []int{1, 2, 0} {
			t.Run(fmt.Sprintf("%d/workers=%d", size, workers), func(t *testing.T) {
				pt := testPlaintext(size, uint64(size))
				ct := encrypt(t, key, pt, workers)
				if want := int64(EncryptedHeaderSize) + stream.EncryptedSize(int64(size)); int64(len(ct)) != want {
					t.Errorf("encrypted file of %d bytes, want %d", len(ct), want)
				}
				h, err := ParseEncryptedHeader(ct)
				if err != nil {
					t.Fatal(err)
				}
				if h.Serial != key.Serial() || h.SessionAlg != SessionAES256GCM {
					t.Errorf("header names serial %s alg %s", h.Serial, h.SessionAlg)
				}
				for _, rw := range []int{1, 2} {
					got, err := decrypt(ct, key, rw)
					if err != nil {
						t.Fatalf("Decrypt with %d workers: %v", rw, err)
					}
					if !bytes.Equal(got, pt) {
						t.Errorf("Decrypt with %d workers returned other plaintext", rw)
					}
				}
			})
		}
	}
}

// TestEncryptSmallWrites writes in odd-sized pieces: the file is the same
// as with one write, apart from the random nonce.
func TestEncryptSmallWrites(t *testing.T) {
	key := NewSessionKey()
	pt := testPlaintext(3*stream.ChunkSize+77, 1)
	var buf bytes.Buffer
	w, err := Encrypt(&buf, key, &EncryptOptions{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	for rest := pt; len(rest) > 0; {
		n := min(len(rest), 1+len(rest)%9973)
		if _, err := w.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Errorf("Write after Close succeeded")
	}
	got, err := decrypt(buf.Bytes(), key, 1)
	if err != nil || !bytes.Equal(got, pt) {
		t.Errorf("Decrypt: %v", err)
	}
}

func TestEncryptNoncesDiffer(t *testing.T) {
	key := NewSessionKey()
	a, b := encrypt(t, key, []byte("same"), 1), encrypt(t, key, []byte("same"), 1)
	if bytes.Equal(a, b) {
		t.Errorf("two encryptions of the same plaintext are identical")
	}
	if !bytes.Equal(a[:boundHeaderSize], b[:boundHeaderSize]) {
		t.Errorf("the headers differ before the nonce")
	}
	if bytes.Equal(a[boundHeaderSize+16:EncryptedHeaderSize], b[boundHeaderSize+16:EncryptedHeaderSize]) {
		t.Errorf("two files have the same key commitment: it must depend on the nonce")
	}
}

func TestDecryptWrongKey(t *testing.T) {
	key := NewSessionKey()
	ct := encrypt(t, key, []byte("secret"), 1)
	if _, err := decrypt(ct, NewSessionKey(), 1); !errors.Is(err, ErrWrongSessionKey) {
		t.Errorf("another session key: %v, want ErrWrongSessionKey", err)
	}
	// The same serial with other key bytes fails authentication.
	data := key.Marshal()
	data[len(data)-1] ^= 1
	sameSerial, err := ParseSessionKey(data)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := decrypt(ct, sameSerial, 1); !errors.Is(err, ErrAuth) || len(got) != 0 {
		t.Errorf("same serial, other key: %v (%d bytes), want ErrAuth and no plaintext", err, len(got))
	}
}

// TestDecryptHeaderFlips flips every bit of the header: decryption must
// fail before returning any plaintext.
func TestDecryptHeaderFlips(t *testing.T) {
	key := NewSessionKey()
	ct := encrypt(t, key, testPlaintext(1000, 2), 1)
	for i := range EncryptedHeaderSize {
		for bit := range 8 {
			data := bytes.Clone(ct)
			data[i] ^= 1 << bit
			got, err := decrypt(data, key, 1)
			if err == nil || len(got) != 0 {
				t.Fatalf("bit %d of header byte %d flipped: %d bytes, err %v", bit, i, len(got), err)
			}
			class := encryptedErrorClass(err)
			var want string
			switch {
			case i < format.HeaderSize+1:
				want = "malformed"
			case i < format.HeaderSize+17:
				want = "wrong session key"
			default:
				want = "auth failure"
			}
			if class != want {
				t.Errorf("bit %d of header byte %d flipped: %s, want %s", bit, i, class, want)
			}
		}
	}
}

func TestDecryptTruncatedHeader(t *testing.T) {
	key := NewSessionKey()
	ct := encrypt(t, key, []byte("x"), 1)
	for n := range EncryptedHeaderSize {
		_, err := decrypt(ct[:n], key, 1)
		if !errors.Is(err, ErrMalformedEncryptedFile) {
			t.Errorf("header truncated to %d bytes: %v, want ErrMalformedEncryptedFile", n, err)
		}
	}
	// A complete header without any payload is a truncated stream.
	if _, err := decrypt(ct[:EncryptedHeaderSize], key, 1); !errors.Is(err, ErrAuth) {
		t.Errorf("header only: %v, want ErrAuth", err)
	}
	if _, err := decrypt(ct[:EncryptedHeaderSize-1], key, 1); err == nil || errors.Is(err, ErrAuth) {
		t.Errorf("header truncated by one byte: %v", err)
	}
}

func TestDecryptTamperedPayload(t *testing.T) {
	key := NewSessionKey()
	const chunk = stream.EncChunkSize
	pt := testPlaintext(2*stream.ChunkSize+10, 3)
	ct := encrypt(t, key, pt, 2)
	h := EncryptedHeaderSize
	swapped := bytes.Clone(ct)
	copy(swapped[h:], ct[h+chunk:h+2*chunk])
	copy(swapped[h+chunk:], ct[h:h+chunk])
	tests := []struct {
		name string
		data []byte
	}{
		{"truncated at a chunk boundary", ct[:h+2*chunk]},
		{"truncated after the first chunk", ct[:h+chunk]},
		{"truncated by one byte", ct[:len(ct)-1]},
		{"truncated inside the first chunk", ct[:h+100]},
		{"one byte appended", append(bytes.Clone(ct), 0)},
		{"a chunk appended", append(bytes.Clone(ct), ct[h:h+chunk]...)},
		{"chunks swapped", swapped},
		{"first chunk flipped", flip(ct, h+5)},
		{"tag of the last chunk flipped", flip(ct, len(ct)-1)},
		{"second chunk flipped", flip(ct, h+chunk+7)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, workers := range []int{1, 2} {
				got, err := decrypt(tt.data, key, workers)
				if !errors.Is(err, ErrAuth) {
					t.Errorf("workers %d: %v, want ErrAuth", workers, err)
				}
				// Plaintext returned before the error must be a prefix of
				// the real plaintext, in whole authenticated chunks.
				if !bytes.HasPrefix(pt, got) || len(got)%stream.ChunkSize != 0 {
					t.Errorf("workers %d: %d bytes of unauthenticated plaintext returned", workers, len(got))
				}
			}
		})
	}
}

func flip(data []byte, i int) []byte {
	b := bytes.Clone(data)
	b[i] ^= 0x10
	return b
}

func TestParseEncryptedHeader(t *testing.T) {
	key := NewSessionKey()
	ct := encrypt(t, key, nil, 1)
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"key blob", append([]byte("kblbb\x01"), ct[6:]...), ErrMalformedEncryptedFile},
		{"version 2", append([]byte("kblbe\x02"), ct[6:]...), format.ErrUnsupportedVersion},
		{"unknown algorithm", append([]byte("kblbe\x01\x02"), ct[7:]...), ErrMalformedEncryptedFile},
		{"short", ct[:EncryptedHeaderSize-1], ErrMalformedEncryptedFile},
	}
	for _, tt := range tests {
		if _, err := ParseEncryptedHeader(tt.data); !errors.Is(err, tt.want) || !errors.Is(err, ErrMalformedEncryptedFile) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
}

type failingWriter struct{ after int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.after <= 0 {
		return 0, errors.New("disk full")
	}
	w.after--
	return len(p), nil
}

type failingReader struct {
	data []byte
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, errors.New("device error")
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestEncryptIOErrors(t *testing.T) {
	key := NewSessionKey()
	if _, err := Encrypt(&failingWriter{}, key, nil); err == nil {
		t.Errorf("Encrypt with a failing writer succeeded")
	}
	w, err := Encrypt(&failingWriter{after: 1}, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("x"))
	if err := w.Close(); err == nil {
		t.Errorf("Close with a failing writer succeeded")
	}
	ct := encrypt(t, key, []byte("x"), 1)
	_, err = Decrypt(&failingReader{data: ct[:10]}, key, nil)
	if err == nil || err.Error() != "device error" {
		t.Errorf("Decrypt with a failing reader: %v, want the reader's error", err)
	}
}
