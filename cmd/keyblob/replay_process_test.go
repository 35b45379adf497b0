package main

import (
	"bytes"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// keyblobCommand returns the keyblob command that testscript.Main (in
// TestMain) installed in $PATH: a copy of this test binary that runs
// run() when invoked as "keyblob".
func keyblobCommand(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("keyblob")
	if err != nil {
		t.Fatalf("no keyblob command in $PATH (testscript.Main installs it): %v", err)
	}
	if !strings.HasPrefix(filepath.Base(filepath.Dir(filepath.Dir(bin))), "testscript-main") {
		t.Fatalf("keyblob in $PATH is %s, not the test binary installed by testscript.Main", bin)
	}
	return bin
}

// runIn runs a keyblob command line in-process and fails the test unless
// it exits 0. It returns stdout.
func runIn(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(args, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("keyblob %s: exit %d: %s", strings.Join(args, " "), code, stderr.String())
	}
	return stdout.String()
}

// onceFixture is a message to bob, large enough that processes opening it
// at once are all busy decrypting when the first of them records it, so
// that a race is decided by the cache's atomic insert, not by its first
// check.
type onceFixture struct {
	bin, dir, db string
	msg          []byte
}

func newOnceFixture(t *testing.T) *onceFixture {
	t.Helper()
	f := &onceFixture{bin: keyblobCommand(t), dir: t.TempDir()}
	t.Setenv("KEYBLOB_HOME", f.path("home"))
	t.Setenv(passphraseEnv, "")
	line := strings.TrimSpace(runIn(t, "keygen", "-t", "x25519", "-o", f.path("bob.key")))
	f.msg = make([]byte, 4<<20)
	rand.Read(f.msg)
	if err := os.WriteFile(f.path("msg"), f.msg, 0o600); err != nil {
		t.Fatal(err)
	}
	runIn(t, "seal", "-q", "-r", line, "-o", f.path("msg.sealed"), f.path("msg"))
	f.db = f.path("replay.db")
	return f
}

func (f *onceFixture) path(name string) string { return filepath.Join(f.dir, name) }

// open returns the command of one "open --once" to out ("" for stdout).
func (f *onceFixture) open(out string) *exec.Cmd {
	args := []string{"open", "--once", "--replay-db", f.db, "-q", "-i", f.path("bob.key")}
	if out != "" {
		args = append(args, "-o", out)
	}
	cmd := exec.Command(f.bin, append(args, f.path("msg.sealed"))...)
	cmd.Env = os.Environ()
	return cmd
}

// onceResult is how one of the concurrent processes ended.
type onceResult struct {
	out            string // the -o file; "" for stdout
	err            error
	code           int
	stdout, stderr bytes.Buffer
}

// runTogether starts cmds at the same time and waits for all of them.
func runTogether(cmds []*exec.Cmd, results []onceResult) {
	var wg sync.WaitGroup
	for i, cmd := range cmds {
		cmd.Stdout, cmd.Stderr = &results[i].stdout, &results[i].stderr
		wg.Go(func() {
			results[i].err = cmd.Run()
			results[i].code = cmd.ProcessState.ExitCode()
		})
	}
	wg.Wait()
}

// checkOnce fails unless exactly one process succeeded, with the whole
// plaintext (from read) and a quiet stderr, and every other failed with a
// replay error and no output at all (from read, "" for none).
func checkOnce(t *testing.T, results []onceResult, want []byte, read func(r *onceResult) ([]byte, bool)) {
	t.Helper()
	ok := 0
	for i := range results {
		r := &results[i]
		got, exists := read(r)
		switch {
		case r.err == nil:
			ok++
			if !bytes.Equal(got, want) {
				t.Errorf("process %d succeeded with %d bytes of output, want the %d of the plaintext", i, len(got), len(want))
			}
			if r.stderr.Len() != 0 {
				t.Errorf("process %d succeeded with stderr %q", i, r.stderr.String())
			}
		case r.code == 1 && strings.Contains(r.stderr.String(), "replay"):
			if exists {
				t.Errorf("process %d failed with a replay error but left %d bytes of output", i, len(got))
			}
		default:
			t.Errorf("process %d: %v (exit %d), want success or exit 1 with a replay error: %s", i, r.err, r.code, r.stderr.String())
		}
		if strings.Contains(r.stderr.String(), "panic") || strings.Contains(r.stderr.String(), "goroutine") {
			t.Errorf("process %d: %s", i, r.stderr.String())
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d processes opened the message, want exactly 1", ok, len(results))
	}
}

// TestOpenOnceProcesses opens one message with --once from 8 keyblob
// processes at the same time, sharing a replay cache: exactly one may
// succeed, and the others must fail with a replay error and leave no
// output.
func TestOpenOnceProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 9 processes")
	}
	f := newOnceFixture(t)
	const n = 8
	results := make([]onceResult, n)
	cmds := make([]*exec.Cmd, n)
	for i := range cmds {
		results[i].out = f.path("out" + string(rune('0'+i)))
		cmds[i] = f.open(results[i].out)
	}
	runTogether(cmds, results)
	checkOnce(t, results, f.msg, func(r *onceResult) ([]byte, bool) {
		got, err := os.ReadFile(r.out)
		return got, err == nil
	})

	// After a restart, the message is still known: another process, and
	// an in-process run, are refused.
	var stderr bytes.Buffer
	cmd := f.open(f.path("later"))
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err == nil || cmd.ProcessState.ExitCode() != 1 || !strings.Contains(stderr.String(), "replay") {
		t.Errorf("a later process: %v: %s; want exit 1 with a replay error", err, stderr.String())
	}
	stderr.Reset()
	code := run([]string{"open", "--once", "--replay-db", f.db, "-i", f.path("bob.key"), "-o", f.path("later2"), f.path("msg.sealed")},
		strings.NewReader(""), new(bytes.Buffer), &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "replay") {
		t.Errorf("a later in-process run: exit %d: %s; want exit 1 with a replay error", code, stderr.String())
	}
	for _, name := range []string{"later", "later2"} {
		if _, err := os.Lstat(f.path(name)); err == nil {
			t.Errorf("a refused run left %s", name)
		}
	}
	// The default cache was not touched.
	if _, err := os.Lstat(f.path("home/replay.db")); err == nil {
		t.Error("--replay-db was given, yet $KEYBLOB_HOME/replay.db was created")
	}
}

// TestOpenOnceProcessesStdout is the same race to stdout, where there is
// no temporary output file to drop: exactly one process prints the
// plaintext, and the others print not one byte. Before the spool, every
// process printed the whole plaintext and all but one then failed. The
// spool directory ($TMPDIR) is empty afterwards.
func TestOpenOnceProcessesStdout(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 8 processes")
	}
	f := newOnceFixture(t)
	spoolDir := f.path("tmp")
	if err := os.Mkdir(spoolDir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", spoolDir)
	const n = 8
	results := make([]onceResult, n)
	cmds := make([]*exec.Cmd, n)
	for i := range cmds {
		cmds[i] = f.open("")
	}
	runTogether(cmds, results)
	checkOnce(t, results, f.msg, func(r *onceResult) ([]byte, bool) {
		return r.stdout.Bytes(), r.stdout.Len() > 0
	})
	if entries, _ := os.ReadDir(spoolDir); len(entries) != 0 {
		t.Errorf("the spool directory holds %d entries, want none", len(entries))
	}
}
