package keyblob

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyblob/keyblob/internal/format"
	"github.com/keyblob/keyblob/internal/stream"
)

// armorNormalized is what an accepted armored input re-encodes to: the
// armor allows white space around the block and CRLF line ends, nothing
// else (format.Unarmor).
func armorNormalized(data []byte) []byte {
	norm := bytes.ReplaceAll(bytes.TrimSpace(data), []byte("\r\n"), []byte("\n"))
	return append(norm, '\n')
}

// fuzzIdentity reads one identity of testdata/keys.
func fuzzIdentity(f *testing.F, name string) *Identity {
	data, err := os.ReadFile(filepath.Join(keysDir, name+".key"))
	if err != nil {
		f.Fatal(err)
	}
	id, err := ParseIdentity(data)
	if err != nil {
		f.Fatal(err)
	}
	return id
}

func FuzzParseKeyBlob(f *testing.F) {
	for _, path := range vectorFiles(f, blobDir) {
		f.Add(readVector(f, path).body)
	}
	bob, alice := fuzzIdentity(f, "bob-x25519"), fuzzIdentity(f, "alice-x25519")
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseKeyBlob(data)
		if err != nil {
			if !errors.Is(err, ErrMalformedBlob) {
				t.Fatalf("ParseKeyBlob error %q is not ErrMalformedBlob", err)
			}
			return
		}
		bin := b.Marshal()
		if format.IsArmored(data) {
			if got := b.MarshalPEM(); !bytes.Equal(got, armorNormalized(data)) {
				t.Fatalf("MarshalPEM differs from the armored input:\n%q\nwant\n%q", got, data)
			}
		} else if !bytes.Equal(bin, data) {
			t.Fatalf("Marshal differs from the input:\n%x\nwant\n%x", bin, data)
		}
		again, err := ParseKeyBlob(bin)
		if err != nil {
			t.Fatalf("ParseKeyBlob(Marshal()): %v", err)
		}
		if diff := cmp.Diff(rawOf(b), rawOf(again), cmpRecipients); diff != "" {
			t.Fatalf("re-parsed blob differs:\n%s", diff)
		}
		// Importing never panics, and a key comes only with a nil error.
		key, err := Import(b, bob, &ImportOptions{Verify: alice.Recipient()})
		if (err == nil) != (key != nil) {
			t.Fatalf("Import returned key %v with error %v", key != nil, err)
		}
	})
}

func FuzzParseRecipientLine(f *testing.F) {
	for _, path := range mustGlob(f, filepath.Join(keysDir, "*.pub")) {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(bytes.TrimSpace(data)))
	}
	f.Add("keyblob:x25519:")
	f.Add("keyblob::AAAAAA")
	f.Add("keyblob:x25519:AAAA:AAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, line string) {
		r, err := ParseRecipientLine(line)
		if err != nil {
			return
		}
		if got := r.String(); got != line {
			t.Fatalf("String() = %q, want the input %q", got, line)
		}
		again, err := ParseRecipientLine(r.String())
		if err != nil || !again.Equal(r) || again.Kind() != r.Kind() {
			t.Fatalf("the recipient does not round trip: %v", err)
		}
	})
}

// FuzzRecipientLineTypo changes one character of a real recipient line
// (substitutes, drops, adds, or swaps it with the next): the line is
// always refused, and a substitution or a swap after the prefix always as
// ErrRecipientChecksum.
func FuzzRecipientLineTypo(f *testing.F) {
	var lines []string
	for _, path := range mustGlob(f, filepath.Join(keysDir, "*.pub")) {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		lines = append(lines, string(bytes.TrimSpace(data)))
	}
	f.Add(uint8(0), uint16(20), byte('A'), uint8(0))
	f.Add(uint8(1), uint16(100), byte(':'), uint8(3))
	f.Fuzz(func(t *testing.T, which uint8, pos uint16, c byte, op uint8) {
		good := lines[int(which)%len(lines)]
		i := int(pos) % len(good)
		var changed string
		switch op % 4 {
		case 0:
			changed = good[:i] + string([]byte{c}) + good[i+1:]
		case 1:
			changed = good[:i] + good[i+1:]
		case 2:
			changed = good[:i] + string([]byte{c}) + good[i:]
		case 3:
			if i+1 == len(good) {
				return
			}
			changed = good[:i] + good[i+1:i+2] + good[i:i+1] + good[i+2:]
		}
		if changed == good {
			return
		}
		_, err := ParseRecipientLine(changed)
		if err == nil {
			t.Fatalf("one change (op %d at %d) was accepted", op%4, i)
		}
		certain := op%4 == 0 || op%4 == 3
		if certain && i >= len(RecipientPrefix) && !errors.Is(err, ErrRecipientChecksum) {
			t.Fatalf("a substitution or swap at %d: %v, want ErrRecipientChecksum", i, err)
		}
	})
}

func FuzzParseIdentity(f *testing.F) {
	for _, path := range mustGlob(f, filepath.Join(keysDir, "*.key")) {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(pemBlocksOf(f, data)[0])
	}
	f.Add([]byte("# comment\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		id, err := ParseIdentity(data)
		if err != nil {
			return
		}
		file, err := id.MarshalPEM()
		if err != nil {
			t.Fatalf("MarshalPEM: %v", err)
		}
		again, err := ParseIdentity(file)
		if err != nil {
			t.Fatalf("ParseIdentity(MarshalPEM()): %v", err)
		}
		if !again.Recipient().Equal(id.Recipient()) || again.Kind() != id.Kind() {
			t.Fatalf("the identity does not round trip")
		}
		if _, err := ParseRecipientLine(id.Recipient().String()); err != nil {
			t.Fatalf("the recipient line of a parsed identity does not parse: %v", err)
		}
	})
}

func mustGlob(f *testing.F, pattern string) []string {
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed files match %s (%v)", pattern, err)
	}
	return files
}

func FuzzParseSessionKey(f *testing.F) {
	k := NewSessionKey()
	f.Add(k.Marshal())
	f.Add(k.MarshalPEM())
	seed, err := os.ReadFile(filepath.Join(streamDir, "session.key"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParseSessionKey(data)
		if err != nil {
			return
		}
		if format.IsArmored(data) {
			if got := k.MarshalPEM(); !bytes.Equal(got, armorNormalized(data)) {
				t.Fatalf("MarshalPEM differs from the armored input:\n%q\nwant\n%q", got, data)
			}
		} else if got := k.Marshal(); !bytes.Equal(got, data) {
			t.Fatalf("Marshal differs from the input:\n%x\nwant\n%x", got, data)
		}
		again, err := ParseSessionKey(k.Marshal())
		if err != nil || !again.Equal(k) {
			t.Fatalf("the session key does not round trip: %v", err)
		}
	})
}

// FuzzDecrypt decrypts arbitrary bytes with a fixed key. Whenever it
// succeeds, the input must be exactly the encryption of the plaintext it
// returned under the nonce of its header: no other bytes may decrypt.
func FuzzDecrypt(f *testing.F) {
	data, err := os.ReadFile(filepath.Join(streamDir, "session.key"))
	if err != nil {
		f.Fatal(err)
	}
	key, err := ParseSessionKey(data)
	if err != nil {
		f.Fatal(err)
	}
	for _, size := range []int{0, 1, 100, stream.ChunkSize + 1} {
		f.Add(encrypt(f, key, testPlaintext(size, uint64(size)), 1))
	}
	for _, path := range vectorFiles(f, streamDir) {
		if v := readVector(f, path); len(v.body) < 1024 {
			f.Add(v.body)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		workers := 1 + len(data)%2
		plaintext, err := decrypt(data, key, workers)
		if err != nil {
			if class := encryptedErrorClass(err); strings.HasPrefix(class, "unexpected") {
				t.Fatalf("Decrypt failed with %s", class)
			}
			return
		}
		h, err := ParseEncryptedHeader(data)
		if err != nil {
			t.Fatalf("Decrypt succeeded on a header that does not parse: %v", err)
		}
		c, err := h.payloadCipher(key)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		buf.Write(h.marshal())
		w := stream.NewWriter(c, &buf, 1)
		if _, err := w.Write(plaintext); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), data) {
			t.Fatalf("Decrypt returned %d bytes of plaintext for bytes that are not its encryption", len(plaintext))
		}
	})
}
