package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"io/fs"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/stream"
)

// runCmd runs a keyblob command line in-process and returns its exit
// status, stdout and stderr.
func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, strings.NewReader(""), &stdout, &stderr)
	if strings.Contains(stderr.String(), "panic") || strings.Contains(stderr.String(), "goroutine") {
		t.Fatalf("keyblob %s: %s", strings.Join(args, " "), stderr.String())
	}
	return code, stdout.String(), stderr.String()
}

// mustRun runs a command line that must succeed.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, stdout, stderr := runCmd(t, args...)
	if code != 0 {
		t.Fatalf("keyblob %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
	}
	return stdout
}

// mustFail runs a decrypt command line that must fail with exit 1, an
// error line, and no file at out (nor a temporary file next to it).
func mustFail(t *testing.T, out string, args ...string) string {
	t.Helper()
	code, _, stderr := runCmd(t, args...)
	if code != 1 || !strings.HasPrefix(stderr, "keyblob: error: ") {
		t.Errorf("keyblob %s: exit %d, want 1\n%s", strings.Join(args, " "), code, stderr)
	}
	if _, err := os.Lstat(out); err == nil {
		t.Errorf("keyblob %s: failed, but left %s", strings.Join(args, " "), out)
		os.Remove(out)
	}
	noTemp(t, filepath.Dir(out))
	return stderr
}

// noTemp fails if an output's temporary file was left in dir.
func noTemp(t *testing.T, dir string) {
	t.Helper()
	left, err := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

// writeRandom writes size pseudo-random bytes to name and returns their
// SHA-256.
func writeRandom(t *testing.T, name string, size int64) [32]byte {
	t.Helper()
	var seed [32]byte
	rand.Read(seed[:])
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), mrand.NewChaCha8(seed), size); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}

func fileHash(t *testing.T, name string) [32]byte {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}

// copyPrefix writes the first n bytes of src to dst.
func copyPrefix(t *testing.T, dst, src string, n int64) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(out, in, n); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// flipBit flips one bit of the byte at off in name, in place.
func flipBit(t *testing.T, name string, off int64) {
	t.Helper()
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x10
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// TestLargeFile encrypts and decrypts 100 MiB through the command, then
// checks that truncating or flipping a bit anywhere makes decrypt fail
// without an output file.
func TestLargeFile(t *testing.T) {
	if testing.Short() {
		t.Skip("100 MiB round trip: skipped with -short")
	}
	const size = 100 << 20
	dir := t.TempDir()
	sk := filepath.Join(dir, "sk")
	plain := filepath.Join(dir, "plain")
	enc := filepath.Join(dir, "plain.enc")
	dec := filepath.Join(dir, "plain.dec")
	mustRun(t, "session", "new", "-o", sk)
	want := writeRandom(t, plain, size)

	mustRun(t, "encrypt", "-k", sk, "-o", enc, plain)
	st, err := os.Stat(enc)
	if err != nil {
		t.Fatal(err)
	}
	encSize := int64(keyblob.EncryptedHeaderSize) + stream.EncryptedSize(size)
	if st.Size() != encSize {
		t.Fatalf("encrypted size %d, want %d", st.Size(), encSize)
	}
	// The plaintext is no longer needed: keep the disk use down.
	os.Remove(plain)

	mustRun(t, "decrypt", "-k", sk, "-o", dec, enc)
	if got := fileHash(t, dec); got != want {
		t.Fatalf("decrypted SHA-256 %x, want %x", got, want)
	}
	if st, err := os.Stat(dec); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("decrypted file: %v, mode %v; want mode 0600", err, st.Mode().Perm())
	}
	os.Remove(dec)

	header := int64(keyblob.EncryptedHeaderSize)
	chunks := (encSize - header) / stream.EncChunkSize
	middle := header + chunks/2*stream.EncChunkSize
	t.Run("truncated", func(t *testing.T) {
		for _, n := range []int64{encSize - 1, encSize - 16, encSize - stream.EncChunkSize,
			middle, middle - 1, middle + 1, header + stream.EncChunkSize, header, header - 1, 10, 0} {
			cut := filepath.Join(dir, "cut.enc")
			copyPrefix(t, cut, enc, n)
			stderr := mustFail(t, dec, "decrypt", "-k", sk, "-o", dec, cut)
			if n >= 6 && !strings.Contains(stderr, "truncated") {
				t.Errorf("truncated to %d bytes: %q does not say truncated", n, stderr)
			}
			os.Remove(cut)
		}
	})

	t.Run("flipped", func(t *testing.T) {
		for _, off := range []int64{0, 8, 30, header, header + stream.EncChunkSize - 1, middle,
			middle + 12345, encSize - stream.EncChunkSize, encSize - 17, encSize - 1} {
			flipBit(t, enc, off)
			stderr := mustFail(t, dec, "decrypt", "-k", sk, "-o", dec, enc)
			if off >= 23 && !strings.Contains(stderr, "modified") {
				t.Errorf("bit flipped at %d: %q does not say modified", off, stderr)
			}
			flipBit(t, enc, off)
		}
	})

	t.Run("extended", func(t *testing.T) {
		f, err := os.OpenFile(enc, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte{0})
		f.Close()
		stderr := mustFail(t, dec, "decrypt", "-k", sk, "-o", dec, enc)
		if !strings.Contains(stderr, "extended") {
			t.Errorf("appended byte: %q does not say extended", stderr)
		}
		if err := os.Truncate(enc, encSize); err != nil {
			t.Fatal(err)
		}
	})

	// The bits flipped back, the file decrypts again.
	mustRun(t, "decrypt", "-k", sk, "-o", dec, enc)
	if got := fileHash(t, dec); got != want {
		t.Fatalf("decrypted SHA-256 after the checks %x, want %x", got, want)
	}
}

// TestDecryptFailureKeepsOutput checks that a decrypt that fails leaves an
// existing -o file as it was, contents and mode.
func TestDecryptFailureKeepsOutput(t *testing.T) {
	dir := t.TempDir()
	sk := filepath.Join(dir, "sk")
	other := filepath.Join(dir, "other.sk")
	plain := filepath.Join(dir, "plain")
	enc := filepath.Join(dir, "plain.enc")
	out := filepath.Join(dir, "out")
	mustRun(t, "session", "new", "-o", sk)
	mustRun(t, "session", "new", "-o", other)
	writeRandom(t, plain, 3*stream.ChunkSize+100)
	mustRun(t, "encrypt", "-k", sk, "-o", enc, plain)

	old := []byte("the old contents\n")
	if err := os.WriteFile(out, old, 0o640); err != nil {
		t.Fatal(err)
	}
	os.Chmod(out, 0o640)
	check := func(what string) {
		t.Helper()
		got, err := os.ReadFile(out)
		if err != nil || !bytes.Equal(got, old) {
			t.Errorf("%s: out is now %.40q (%v), want the old contents", what, got, err)
		}
		if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o640 {
			t.Errorf("%s: out mode changed: %v", what, st.Mode())
		}
		noTemp(t, dir)
	}

	// Failing on the header: another key.
	if code, _, stderr := runCmd(t, "decrypt", "--force", "-k", other, "-o", out, enc); code != 1 {
		t.Errorf("decrypt with another key: exit %d\n%s", code, stderr)
	}
	check("another key")

	// Failing at the end, after three chunks were written to the
	// temporary file: the last chunk is changed.
	data, err := os.ReadFile(enc)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-1] ^= 1
	bad := filepath.Join(dir, "bad.enc")
	if err := os.WriteFile(bad, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCmd(t, "decrypt", "--force", "-k", sk, "-o", out, bad); code != 1 {
		t.Errorf("decrypt of a modified file: exit %d\n%s", code, stderr)
	}
	check("modified file")

	// Failing in the middle: truncated at a chunk boundary.
	cut := filepath.Join(dir, "cut.enc")
	copyPrefix(t, cut, enc, int64(keyblob.EncryptedHeaderSize)+2*stream.EncChunkSize)
	if code, _, stderr := runCmd(t, "decrypt", "--force", "-k", sk, "-o", out, cut); code != 1 {
		t.Errorf("decrypt of a truncated file: exit %d\n%s", code, stderr)
	}
	check("truncated file")

	// And a success replaces it.
	mustRun(t, "decrypt", "--force", "-k", sk, "-o", out, enc)
	if fileHash(t, out) != fileHash(t, plain) {
		t.Error("decrypt after the failures: wrong output")
	}
}

// TestDeviceOutput checks that -o naming a pipe (like /dev/stdout or
// /dev/null) writes into it rather than renaming a file over it, which
// would replace the device node itself.
func TestDeviceOutput(t *testing.T) {
	if _, err := exec.LookPath("mkfifo"); err != nil {
		t.Skip("no mkfifo command")
	}
	dir := t.TempDir()
	sk := filepath.Join(dir, "sk")
	plain := filepath.Join(dir, "plain")
	fifo := filepath.Join(dir, "fifo")
	mustRun(t, "session", "new", "-o", sk)
	writeRandom(t, plain, stream.ChunkSize+1)
	if out, err := exec.Command("mkfifo", fifo).CombinedOutput(); err != nil {
		t.Fatalf("mkfifo: %v\n%s", err, out)
	}

	got := make(chan []byte, 1)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			got <- nil
			return
		}
		data, _ := io.ReadAll(f)
		f.Close()
		got <- data
	}()
	mustRun(t, "encrypt", "-k", sk, "-o", fifo, plain)
	st, err := os.Lstat(fifo)
	if err != nil || st.Mode().Type() != fs.ModeNamedPipe {
		t.Fatalf("after encrypt -o FIFO: %v, mode %v; the FIFO was replaced", err, st.Mode())
	}
	enc := filepath.Join(dir, "plain.enc")
	if err := os.WriteFile(enc, <-got, 0o644); err != nil {
		t.Fatal(err)
	}
	dec := filepath.Join(dir, "plain.dec")
	mustRun(t, "decrypt", "-k", sk, "-o", dec, enc)
	if fileHash(t, dec) != fileHash(t, plain) {
		t.Error("what was written to the FIFO does not decrypt to the input")
	}
	noTemp(t, dir)

	// A file that must not be replaced is not, even a FIFO.
	if code, _, stderr := runCmd(t, "session", "new", "-o", fifo); code != 1 || !strings.Contains(stderr, "already exists") {
		t.Errorf("session new -o FIFO: exit %d, %q; want exit 1, already exists", code, stderr)
	}
}
