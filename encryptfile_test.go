package keyblob

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/cryptotest"

	"github.com/keyblob/keyblob/internal/stream"
)

// sinkFile is a WriterAt and the bytes written to it.
type sinkFile struct{ f *os.File }

func newSinkFile(t *testing.T) *sinkFile {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &sinkFile{f}
}

func (s *sinkFile) bytes(t *testing.T) []byte {
	b, err := os.ReadFile(s.f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEncryptFileSourcesAndSinks encrypts through every Source and Sink
// form around the chunk boundaries: with the same randomness, each gives
// the bytes Encrypt gives, and each decrypts through every way back.
func TestEncryptFileSourcesAndSinks(t *testing.T) {
	key := NewSessionKey()
	const chunk = stream.ChunkSize
	for _, size := range []int{0, 1, chunk - 1, chunk, chunk + 1, 2*chunk + 1} {
		pt := testPlaintext(size, uint64(size)+7)
		for _, src := range []string{"R", "At"} {
			for _, dst := range []string{"W", "At"} {
				t.Run(fmt.Sprintf("%d/%s-%s", size, src, dst), func(t *testing.T) {
					cryptotest.SetGlobalRandom(t, uint64(size))
					want := encrypt(t, key, pt, 2)
					cryptotest.SetGlobalRandom(t, uint64(size))
					got := encryptFile(t, key, pt, src, dst)
					if !bytes.Equal(got, want) {
						t.Fatalf("EncryptFile(%s, %s) wrote other bytes than Encrypt", src, dst)
					}
					checkDecryptWays(t, got, key, pt)
				})
			}
		}
	}
}

// encryptFile runs EncryptFile from a Source of form src to a Sink of form
// dst and returns the file, after checking the header it returned.
func encryptFile(t *testing.T, key *SessionKey, pt []byte, src, dst string) []byte {
	t.Helper()
	source := Source{R: bytes.NewReader(pt)}
	if src == "At" {
		source = Source{At: bytes.NewReader(pt), Size: int64(len(pt))}
	}
	var buf bytes.Buffer
	file := newSinkFile(t)
	sink := Sink{W: &buf}
	if dst == "At" {
		sink = Sink{At: file.f}
	}
	h, err := EncryptFile(sink, source, key, &EncryptOptions{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	out := buf.Bytes()
	if dst == "At" {
		out = file.bytes(t)
	}
	if parsed, err := ParseEncryptedHeader(out); err != nil || *parsed != *h {
		t.Errorf("EncryptFile returned header %+v, the file has %+v (%v)", h, parsed, err)
	}
	return out
}

// checkDecryptWays decrypts ct with Read, WriteTo and Decrypt to both
// sinks, from Decrypt and DecryptAt.
func checkDecryptWays(t *testing.T, ct []byte, key *SessionKey, pt []byte) {
	t.Helper()
	open := map[string]func() (*Decrypter, error){
		"Decrypt":   func() (*Decrypter, error) { return Decrypt(bytes.NewReader(ct), key, nil) },
		"DecryptAt": func() (*Decrypter, error) { return DecryptAt(bytes.NewReader(ct), int64(len(ct)), key, nil) },
	}
	for name, o := range open {
		for _, way := range []string{"Read", "W", "At"} {
			d, err := o()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if got := d.Header(); got.Serial != key.Serial() {
				t.Errorf("%s: header serial %s", name, got.Serial)
			}
			got, err := readPlain(t, d, way)
			if err != nil || !bytes.Equal(got, pt) {
				t.Errorf("%s, then %s: %d bytes, %v; want the %d plaintext bytes", name, way, len(got), err, len(pt))
			}
		}
	}
}

// readPlain reads the plaintext of d one way: Read (io.ReadAll), or
// Decrypt to a Sink's W or At.
func readPlain(t *testing.T, d *Decrypter, way string) ([]byte, error) {
	switch way {
	case "Read":
		return io.ReadAll(struct{ io.Reader }{d})
	case "W":
		var buf bytes.Buffer
		n, err := d.Decrypt(Sink{W: &buf})
		if err == nil && n != int64(buf.Len()) {
			t.Errorf("Decrypt returned %d, wrote %d", n, buf.Len())
		}
		return buf.Bytes(), err
	}
	file := newSinkFile(t)
	n, err := d.Decrypt(Sink{At: file.f})
	got := file.bytes(t)
	if err == nil && n != int64(len(got)) {
		t.Errorf("Decrypt returned %d, wrote %d", n, len(got))
	}
	return got, err
}

// TestDecrypterOnce: the payload is read once, by one of the ways.
func TestDecrypterOnce(t *testing.T) {
	key := NewSessionKey()
	ct := encrypt(t, key, testPlaintext(100, 1), 1)
	d, err := Decrypt(bytes.NewReader(ct), key, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Read(make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Decrypt(Sink{W: io.Discard}); !errors.Is(err, errUsed) {
		t.Errorf("Decrypt after Read: %v, want errUsed", err)
	}
	d, _ = Decrypt(bytes.NewReader(ct), key, nil)
	if _, err := d.Decrypt(Sink{W: io.Discard}); err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func() error{
		"Read":    func() error { _, err := d.Read(make([]byte, 1)); return err },
		"WriteTo": func() error { _, err := d.WriteTo(io.Discard); return err },
		"Decrypt": func() error { _, err := d.Decrypt(Sink{W: io.Discard}); return err },
	} {
		if err := f(); !errors.Is(err, errUsed) {
			t.Errorf("%s after Decrypt: %v, want errUsed", name, err)
		}
	}
}

// TestEncryptFileBadArguments: a Source or Sink without exactly one form,
// or no key, is refused before anything is written.
func TestEncryptFileBadArguments(t *testing.T) {
	key := NewSessionKey()
	var buf bytes.Buffer
	r := bytes.NewReader(nil)
	cases := []struct {
		name string
		dst  Sink
		src  Source
		key  *SessionKey
	}{
		{"empty source", Sink{W: &buf}, Source{}, key},
		{"two sources", Sink{W: &buf}, Source{R: r, At: r}, key},
		{"negative size", Sink{W: &buf}, Source{At: r, Size: -1}, key},
		{"empty sink", Sink{}, Source{R: r}, key},
		{"two sinks", Sink{W: &buf, At: newSinkFile(t).f}, Source{R: r}, key},
		{"no key", Sink{W: &buf}, Source{R: r}, nil},
	}
	for _, c := range cases {
		if _, err := EncryptFile(c.dst, c.src, c.key, nil); err == nil {
			t.Errorf("%s: EncryptFile succeeded", c.name)
		}
		if buf.Len() != 0 {
			t.Fatalf("%s: %d bytes written", c.name, buf.Len())
		}
	}
	d, err := Decrypt(bytes.NewReader(encrypt(t, key, nil, 1)), key, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Decrypt(Sink{}); err == nil {
		t.Error("Decrypt to an empty Sink succeeded")
	}
}

// TestDecryptAtSizes: a file cut or extended at any place around the
// header and the chunk boundaries fails, with the error the stream form
// gives: malformed if the header is cut, ErrAuth otherwise.
func TestDecryptAtSizes(t *testing.T) {
	key := NewSessionKey()
	ct := encrypt(t, key, testPlaintext(stream.ChunkSize+5, 3), 1)
	long := append(bytes.Clone(ct), 0)
	for _, n := range []int{0, 1, EncryptedHeaderSize - 1, EncryptedHeaderSize, EncryptedHeaderSize + 15,
		EncryptedHeaderSize + stream.EncChunkSize, len(ct) - 1, len(ct) + 1} {
		data := long[:n]
		_, errStream := decrypt(data, key, 1)
		d, err := DecryptAt(bytes.NewReader(data), int64(n), key, nil)
		if err == nil {
			_, err = d.Decrypt(Sink{W: io.Discard})
		}
		if err == nil || encryptedErrorClass(err) != encryptedErrorClass(errStream) {
			t.Errorf("%d bytes: DecryptAt: %v; the stream: %v", n, err, errStream)
		}
	}
}

// TestEncryptedArmor: NewEncryptedArmorWriter and DearmorEncrypted are the
// one armor of spec/blob.md section 4 for encrypted files, and the binary
// form passes DearmorEncrypted unchanged.
func TestEncryptedArmor(t *testing.T) {
	key := NewSessionKey()
	pt := testPlaintext(stream.ChunkSize+1, 9)
	var armored bytes.Buffer
	a, err := NewEncryptedArmorWriter(&armored)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := EncryptFile(Sink{W: a}, Source{R: bytes.NewReader(pt)}, key, nil); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	text := armored.String()
	if !strings.HasPrefix(text, "-----BEGIN KEYBLOB ENCRYPTED FILE-----\n") || !strings.HasSuffix(text, "-----END KEYBLOB ENCRYPTED FILE-----\n") {
		t.Fatalf("armor:\n%.100s...", text)
	}
	for name, in := range map[string][]byte{
		"armored":     armored.Bytes(),
		"space+armor": append([]byte(" \r\n\t"), armored.Bytes()...),
		"binary":      encrypt(t, key, pt, 1),
	} {
		r, err := DearmorEncrypted(bytes.NewReader(in))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		d, err := Decrypt(r, key, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got, err := io.ReadAll(d); err != nil || !bytes.Equal(got, pt) {
			t.Errorf("%s: %v", name, err)
		}
	}
	bad := map[string]struct {
		in   []byte
		want error
	}{
		"space before binary": {append([]byte("\n"), encrypt(t, key, pt, 1)...), ErrMalformedEncryptedFile},
		"other block":         {key.MarshalPEM(), ErrArmor},
		"truncated armor":     {armored.Bytes()[:armored.Len()-10], ErrArmor},
	}
	for name, c := range bad {
		r, err := DearmorEncrypted(bytes.NewReader(c.in))
		if err == nil {
			var d *Decrypter
			if d, err = Decrypt(r, key, nil); err == nil {
				_, err = io.ReadAll(d)
			}
		}
		if !errors.Is(err, c.want) || !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}
