//go:build unix

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// interrupted is one run of finding 4's attack: a command writing a large
// -o output, stopped by a signal while it is in the middle of writing.
type interrupted struct {
	name  string
	args  func(f *outputFixture, out string) []string
	input func(f *outputFixture) []byte // what is fed to stdin, slowly
}

var interruptedCommands = []interrupted{
	{"open", func(f *outputFixture, out string) []string {
		return []string{"open", "-q", "-i", f.bobKey, "-o", out}
	}, func(f *outputFixture) []byte { return readFile(f.sealed) }},
	{"decrypt", func(f *outputFixture, out string) []string {
		return []string{"decrypt", "-k", f.sk, "-o", out}
	}, func(f *outputFixture) []byte { return readFile(f.enc) }},
	{"seal", func(f *outputFixture, out string) []string {
		return []string{"seal", "-q", "-r", f.bob, "-o", out}
	}, func(f *outputFixture) []byte { return f.plain }},
}

// TestSIGTERMDuringOpenLeavesNothing stops open, decrypt and seal with
// SIGTERM, SIGINT and SIGHUP while they are writing their -o output (the
// message is fed through a pipe, and only half of it): the exit status
// must be 128+signal, and the output directory must hold no file at all,
// under any name.
func TestSIGTERMDuringOpenLeavesNothing(t *testing.T) {
	f := newOutputFixture(t, 4<<20)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
		for _, c := range interruptedCommands {
			t.Run(c.name+"/"+sig.String(), func(t *testing.T) {
				code := interrupt(t, f, c, sig)
				if code != 128+int(sig) {
					t.Errorf("exit status %d, want %d", code, 128+int(sig))
				}
			})
		}
	}
}

// interrupt runs c mid-write, sends sig, and checks that the output
// directory is left empty. It returns the exit status.
func interrupt(t *testing.T, f *outputFixture, c interrupted, sig syscall.Signal) int {
	t.Helper()
	outDir := t.TempDir()
	cmd, feed := startMidWrite(t, c.args(f, filepath.Join(outDir, "out")), c.input(f), outDir)
	defer feed.Close()
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	checkEmptyDir(t, outDir)
	return cmd.ProcessState.ExitCode()
}

// startMidWrite starts keyblob with args, writes the first half of input
// to its stdin (a pipe kept open), and waits until the process has
// written output data in outDir. The caller closes the returned pipe.
func startMidWrite(t *testing.T, args []string, input []byte, outDir string) (*exec.Cmd, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(keyblobCommand(t), args...)
	cmd.Stdin = r
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if _, err := w.Write(input[:len(input)/2]); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); !outputWritten(cmd.Process.Pid, outDir); {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("keyblob %s wrote no output in 10s", strings.Join(args, " "))
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cmd, w
}

// outputWritten reports whether process pid holds a non-empty file in
// dir: one with a name there, or an unnamed (O_TMPFILE) one, seen through
// the process's open descriptors in /proc.
func outputWritten(pid int, dir string) bool {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if st, err := e.Info(); err == nil && st.Size() > 0 {
			return true
		}
	}
	fds := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	links, _ := os.ReadDir(fds)
	for _, l := range links {
		target, err := os.Readlink(filepath.Join(fds, l.Name()))
		st, serr := os.Stat(filepath.Join(fds, l.Name()))
		if err == nil && serr == nil && strings.HasPrefix(target, dir+"/") && st.Size() > 0 {
			return true
		}
	}
	return false
}

// checkEmptyDir fails unless dir has no entry at all, dot files included.
func checkEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		st, _ := e.Info()
		t.Errorf("left in the output directory: %s (%d bytes)", e.Name(), st.Size())
	}
}

// readFile reads a fixture file, which exists.
func readFile(name string) []byte {
	data, _ := os.ReadFile(name)
	return data
}
