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

// TestOpenOnceProcesses opens one message with --once from 8 keyblob
// processes at the same time, sharing a replay cache: exactly one may
// succeed, and the others must fail with a replay error and leave no
// output. The message is large enough that the processes are all busy
// decrypting when the first of them records it, so the race is decided by
// the cache's atomic insert, not by its first check.
func TestOpenOnceProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 9 processes")
	}
	bin := keyblobCommand(t)
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	t.Setenv("KEYBLOB_HOME", home)
	t.Setenv(passphraseEnv, "")
	path := func(name string) string { return filepath.Join(dir, name) }

	line := strings.TrimSpace(runIn(t, "keygen", "-t", "x25519", "-o", path("bob.key")))
	msg := make([]byte, 4<<20)
	rand.Read(msg)
	if err := os.WriteFile(path("msg"), msg, 0o600); err != nil {
		t.Fatal(err)
	}
	runIn(t, "seal", "-q", "-r", line, "-o", path("msg.sealed"), path("msg"))

	db := path("replay.db")
	open := func(out string) *exec.Cmd {
		cmd := exec.Command(bin, "open", "--once", "--replay-db", db, "-q", "-i", path("bob.key"), "-o", out, path("msg.sealed"))
		cmd.Env = os.Environ()
		return cmd
	}

	const n = 8
	type result struct {
		out    string
		err    error
		code   int
		stderr string
	}
	results := make([]result, n)
	cmds := make([]*exec.Cmd, n)
	stderrs := make([]bytes.Buffer, n)
	for i := range cmds {
		results[i].out = path("out" + string(rune('0'+i)))
		cmds[i] = open(results[i].out)
		cmds[i].Stderr = &stderrs[i]
	}
	// Start them together, and wait for all.
	var wg sync.WaitGroup
	for i, cmd := range cmds {
		wg.Go(func() {
			results[i].err = cmd.Run()
			results[i].code = cmd.ProcessState.ExitCode()
			results[i].stderr = stderrs[i].String()
		})
	}
	wg.Wait()

	ok := 0
	for i, r := range results {
		switch {
		case r.err == nil:
			ok++
			got, err := os.ReadFile(r.out)
			if err != nil {
				t.Errorf("process %d succeeded but: %v", i, err)
			} else if !bytes.Equal(got, msg) {
				t.Errorf("process %d succeeded with the wrong plaintext", i)
			}
			if r.stderr != "" {
				t.Errorf("process %d succeeded with stderr %q", i, r.stderr)
			}
		case r.code == 1 && strings.Contains(r.stderr, "replay"):
			if _, err := os.Lstat(r.out); err == nil {
				t.Errorf("process %d failed with a replay error but left %s", i, r.out)
			}
		default:
			t.Errorf("process %d: %v (exit %d), want success or exit 1 with a replay error: %s", i, r.err, r.code, r.stderr)
		}
		if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine") {
			t.Errorf("process %d: %s", i, r.stderr)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d processes opened the message, want exactly 1", ok, n)
	}

	// After a restart, the message is still known: another process, and
	// an in-process run, are refused.
	var stderr bytes.Buffer
	cmd := open(path("later"))
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err == nil || cmd.ProcessState.ExitCode() != 1 || !strings.Contains(stderr.String(), "replay") {
		t.Errorf("a later process: %v: %s; want exit 1 with a replay error", err, stderr.String())
	}
	stderr.Reset()
	code := run([]string{"open", "--once", "--replay-db", db, "-i", path("bob.key"), "-o", path("later2"), path("msg.sealed")},
		strings.NewReader(""), new(bytes.Buffer), &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "replay") {
		t.Errorf("a later in-process run: exit %d: %s; want exit 1 with a replay error", code, stderr.String())
	}
	for _, name := range []string{"later", "later2"} {
		if _, err := os.Lstat(path(name)); err == nil {
			t.Errorf("a refused run left %s", name)
		}
	}
	// The default cache was not touched.
	if _, err := os.Lstat(filepath.Join(home, "replay.db")); err == nil {
		t.Error("--replay-db was given, yet $KEYBLOB_HOME/replay.db was created")
	}
}
