//go:build unix

package main

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// outputFixture is a session key, an encrypted file and a signed sealed
// message with the same plaintext, for the output tests.
type outputFixture struct {
	dir, sk, bobKey, enc, sealed string
	bob                          string // bob's recipient line
	plain                        []byte
}

// newOutputFixture makes an outputFixture with size bytes of plaintext.
func newOutputFixture(t *testing.T, size int64) *outputFixture {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("KEYBLOB_HOME", filepath.Join(dir, "home"))
	t.Setenv(passphraseEnv, "")
	f := &outputFixture{dir: dir, sk: filepath.Join(dir, "sk"), bobKey: filepath.Join(dir, "bob.key"),
		enc: filepath.Join(dir, "plain.enc"), sealed: filepath.Join(dir, "plain.sealed")}
	plain := filepath.Join(dir, "plain")
	writeRandom(t, plain, size)
	mustRun(t, "session", "new", "-o", f.sk)
	mustRun(t, "encrypt", "-k", f.sk, "-o", f.enc, plain)
	f.bob = strings.TrimSpace(mustRun(t, "keygen", "-t", "x25519", "-o", f.bobKey))
	alice := filepath.Join(dir, "alice.key")
	mustRun(t, "keygen", "-t", "x25519", "-o", alice)
	mustRun(t, "seal", "-q", "-s", alice, "-r", f.bob, "-o", f.sealed, plain)
	var err error
	if f.plain, err = os.ReadFile(plain); err != nil {
		t.Fatal(err)
	}
	return f
}

// plaintextCommands are the commands whose -o output is plaintext.
func (f *outputFixture) plaintextCommands(out string) map[string][]string {
	return map[string][]string{
		"decrypt": {"decrypt", "-k", f.sk, "-o", out, f.enc},
		"open":    {"open", "-q", "-i", f.bobKey, "-o", out, f.sealed},
	}
}

// runWithin runs a command line in-process and fails the test if it does
// not return within a few seconds (it blocked opening its output).
func runWithin(t *testing.T, args ...string) (int, string) {
	t.Helper()
	type result struct {
		code   int
		stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, _, stderr := runCmd(t, args...)
		done <- result{code, stderr}
	}()
	select {
	case r := <-done:
		return r.code, r.stderr
	case <-time.After(10 * time.Second):
		t.Fatalf("keyblob %s: still running after 10s", strings.Join(args, " "))
	}
	return 0, ""
}

// TestOutputRefusesForeignFIFO performs finding 3's attack: another user
// makes a FIFO at the output name in a shared directory and reads from it.
// keyblob must refuse the output at once, writing nothing into the FIFO.
func TestOutputRefusesForeignFIFO(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a FIFO owned by another user")
	}
	f := newOutputFixture(t, 1000)
	fifo := filepath.Join(f.dir, "out")
	if err := syscall.Mkfifo(fifo, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(fifo, 12345, 12345); err != nil {
		t.Fatal(err)
	}
	// The attacker's end: read and write, so that it never blocks and a
	// writer's open succeeds at once.
	fd, err := syscall.Open(fifo, syscall.O_RDWR|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	for name, args := range f.plaintextCommands(fifo) {
		code, stderr := runWithin(t, args...)
		if code != 1 || !strings.Contains(stderr, "owned by uid 12345") {
			t.Errorf("%s -o FIFO of another user: exit %d, want 1 naming the owner\n%s", name, code, stderr)
		}
		buf := make([]byte, 4096)
		if n, err := syscall.Read(fd, buf); !errors.Is(err, syscall.EAGAIN) {
			t.Errorf("%s -o FIFO of another user: the FIFO received %d bytes (%v)", name, n, err)
		}
	}
}

// TestOutputOwnFIFO checks that a FIFO of the user's own, with a reader,
// still receives the output.
func TestOutputOwnFIFO(t *testing.T) {
	f := newOutputFixture(t, 1000)
	fifo := filepath.Join(f.dir, "out")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, args := range f.plaintextCommands(fifo) {
		got := make(chan []byte, 1)
		go func() {
			data, _ := os.ReadFile(fifo)
			got <- data
		}()
		if code, stderr := runWithin(t, args...); code != 0 {
			t.Fatalf("%s -o own FIFO: exit %d\n%s", name, code, stderr)
		}
		if data := <-got; !bytes.Equal(data, f.plain) {
			t.Errorf("%s -o own FIFO: the reader got %d bytes, want the %d of plaintext", name, len(data), len(f.plain))
		}
	}
}

// TestOutputRefusesSymlink checks that a symbolic link at the output
// name is refused, whether it points to a file, to a name that does not
// exist yet, or to another user's FIFO, and that nothing is written
// through it.
func TestOutputRefusesSymlink(t *testing.T) {
	f := newOutputFixture(t, 1000)
	victim := filepath.Join(f.dir, "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{victim, filepath.Join(f.dir, "absent"), "/dev/null"} {
		link := filepath.Join(f.dir, "link")
		os.Remove(link)
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		for name, args := range f.plaintextCommands(link) {
			code, stderr := runWithin(t, args...)
			if code != 1 || !strings.Contains(stderr, "symbolic link") {
				t.Errorf("%s -o symlink to %s: exit %d, want 1\n%s", name, target, code, stderr)
			}
		}
		if st, err := os.Lstat(link); err != nil || st.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("the symlink to %s was replaced: %v", target, err)
		}
	}
	if got, _ := os.ReadFile(victim); string(got) != "keep" {
		t.Errorf("the file behind the symlink now holds %.20q", got)
	}
	if _, err := os.Lstat(filepath.Join(f.dir, "absent")); err == nil {
		t.Error("a file was created through a dangling symlink")
	}
}

// TestOutputDevices checks that /dev/null and /dev/stdout still work:
// /dev/null is a root-owned device written in place (and stays a device),
// /dev/stdout is the process's own stdout, not a path followed.
func TestOutputDevices(t *testing.T) {
	f := newOutputFixture(t, 1000)
	for name, args := range f.plaintextCommands("/dev/null") {
		if code, stderr := runWithin(t, args...); code != 0 {
			t.Errorf("%s -o /dev/null: exit %d\n%s", name, code, stderr)
		}
	}
	if st, err := os.Lstat("/dev/null"); err != nil || st.Mode()&fs.ModeCharDevice == 0 {
		t.Fatalf("/dev/null is no longer a device: %v", err)
	}
	for name, args := range f.plaintextCommands("/dev/stdout") {
		code, stdout, stderr := runCmd(t, args...)
		if code != 0 || stdout != string(f.plain) {
			t.Errorf("%s -o /dev/stdout: exit %d, %d bytes on stdout\n%s", name, code, len(stdout), stderr)
		}
	}
}
