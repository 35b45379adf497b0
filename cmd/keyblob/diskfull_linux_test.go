package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestDiskFullMessages fills a small tmpfs (mounted here, so it needs
// root; skipped otherwise) and checks what every writing command says:
// disk full, under the output's own name, never a temporary file's name,
// never "not authentic", and nothing left behind.
func TestDiskFullMessages(t *testing.T) {
	full := t.TempDir()
	if err := unix.Mount("tmpfs", full, "tmpfs", 0, "size=64k"); err != nil {
		t.Skipf("cannot mount a small tmpfs (needs root): %v", err)
	}
	t.Cleanup(func() { unix.Unmount(full, 0) })
	dir := t.TempDir()
	in := func(name string) string { return filepath.Join(dir, name) }
	line := mustRun(t, "keygen", "-t", "x25519", "-o", in("bob.key"))
	if err := os.WriteFile(in("bob.pub"), []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "session", "new", "-o", in("s.key"))
	writeRandom(t, in("msg"), 300<<10)
	mustRun(t, "seal", "-r", in("bob.pub"), "-o", in("msg.kb"), in("msg"))
	mustRun(t, "seal", "-r", in("bob.pub"), "-s", in("bob.key"), "-o", in("signed.kb"), in("msg"))
	mustRun(t, "encrypt", "-k", in("s.key"), "-o", in("msg.enc"), in("msg"))
	out := filepath.Join(full, "out")
	for _, args := range [][]string{
		{"open", "-i", in("bob.key"), "-o", out, in("msg.kb")},
		{"open", "-i", in("bob.key"), "-o", out, in("signed.kb")},
		{"decrypt", "-k", in("s.key"), "-o", out, in("msg.enc")},
		{"encrypt", "-k", in("s.key"), "-o", out, in("msg")},
		{"seal", "-r", in("bob.pub"), "-o", out, in("msg")},
	} {
		code, _, stderr := runCmd(t, args...)
		if code != 1 || !strings.Contains(stderr, out+": no space left on device") ||
			!strings.Contains(stderr, "keyblob: hint: the disk is full") ||
			strings.Contains(stderr, "authentic") || strings.Contains(stderr, ".tmp-") ||
			strings.Contains(stderr, "(unnamed") {
			t.Errorf("%s: exit %d\n%s", args[0], code, stderr)
		}
		noTemp(t, full)
		if _, err := os.Lstat(out); err == nil {
			t.Errorf("%s left %s", args[0], out)
		}
	}
}

// TestDiskFullStream checks the disk-full hint of a stream: on /dev/full
// (a character device written in place, as stdout is) and on a stdout
// that is /dev/full, what was written before the error may stay, so the
// hint must not say that nothing was kept.
func TestDiskFullStream(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	defer full.Close()
	dir := t.TempDir()
	key, msg := filepath.Join(dir, "s.key"), filepath.Join(dir, "msg")
	mustRun(t, "session", "new", "-o", key)
	writeRandom(t, msg, 300<<10)
	for _, name := range []string{"-o /dev/full", "stdout /dev/full"} {
		args := []string{"encrypt", "-k", key, msg}
		stdout := io.Writer(io.Discard)
		if name == "-o /dev/full" {
			args = append(args, "-o", "/dev/full")
		} else {
			stdout = full
		}
		var stderr strings.Builder
		code := run(args, strings.NewReader(""), stdout, &stderr)
		if code != 1 || !strings.Contains(stderr.String(), "no space left on device") ||
			!strings.Contains(stderr.String(), "keyblob: hint: "+diskFullStreamHint) ||
			strings.Contains(stderr.String(), "nothing was kept") {
			t.Errorf("encrypt to %s: exit %d\n%s", name, code, stderr.String())
		}
	}
}
