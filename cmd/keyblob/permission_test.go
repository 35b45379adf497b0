package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestPermissionDenied checks that an unreadable input and an unwritable
// output directory say permission denied, with the hint that fits, not
// "check the file name". Files are made unreadable for real when the test
// does not run as root (whom permissions do not stop); as root, the error
// the system gives is built and reported as a command reports it.
func TestPermissionDenied(t *testing.T) {
	const want = "keyblob: hint: permission denied: check the owner and mode of the file and of its directory (ls -l)\n"
	if os.Geteuid() != 0 {
		dir := t.TempDir()
		in := filepath.Join(dir, "secret")
		if err := os.WriteFile(in, []byte("x"), 0); err != nil {
			t.Fatal(err)
		}
		code, _, stderr := runCmd(t, "inspect", in)
		if code != 1 || !strings.Contains(stderr, "permission denied") || !strings.HasSuffix(stderr, want) {
			t.Errorf("inspect of an unreadable file: exit %d\n%s", code, stderr)
		}
		ro := filepath.Join(dir, "ro")
		if err := os.Mkdir(ro, 0o500); err != nil {
			t.Fatal(err)
		}
		code, _, stderr = runCmd(t, "session", "new", "-o", filepath.Join(ro, "k"))
		if code != 1 || !strings.Contains(stderr, "permission denied") {
			t.Errorf("session new into a read-only directory: exit %d\n%s", code, stderr)
		}
		return
	}
	e := &env{stdin: strings.NewReader("")}
	_, err := e.openInput("/nonexistent-dir/x")
	var sb strings.Builder
	reportError(&sb, "decrypt", err)
	if !strings.Contains(sb.String(), "keyblob: hint: check the file name") {
		t.Errorf("a missing file: %s", sb.String())
	}
	sb.Reset()
	err = withFallbackHint(&os.PathError{Op: "open", Path: "secret", Err: syscall.EACCES}, "check the file name")
	reportError(&sb, "decrypt", err)
	if got := sb.String(); got != "keyblob: error: open secret: permission denied\n"+want {
		t.Errorf("an unreadable file reports\n%s", got)
	}
}
