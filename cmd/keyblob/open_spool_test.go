package main

import (
	"bytes"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestOpenSpoolKilled kills an open of a signed message to stdout while
// its plaintext is in the spool: nothing reached stdout, and nothing is
// left in the spool directory ($TMPDIR). The message comes through a
// pipe that the test holds open with its last chunk and signature
// missing, so the process is certainly mid-way when it dies.
func TestOpenSpoolKilled(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("needs /proc to see the spool file")
	}
	bin := keyblobCommand(t)
	dir := t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name) }
	t.Setenv("KEYBLOB_HOME", path("home"))
	t.Setenv(passphraseEnv, "")
	spoolDir := path("tmp")
	if err := os.Mkdir(spoolDir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", spoolDir)
	runIn(t, "keygen", "-o", path("alice.key"))
	bob := strings.TrimSpace(runIn(t, "keygen", "-t", "x25519", "-o", path("bob.key")))
	plain := make([]byte, 1<<20)
	rand.Read(plain)
	if err := os.WriteFile(path("msg"), plain, 0o600); err != nil {
		t.Fatal(err)
	}
	runIn(t, "seal", "-q", "-s", path("alice.key"), "-r", bob, "-o", path("msg.sealed"), path("msg"))
	msg, err := os.ReadFile(path("msg.sealed"))
	if err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(bin, "open", "-q", "-i", path("bob.key"))
	cmd.Env = os.Environ()
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	if _, err := stdin.Write(msg[:len(msg)-20000]); err != nil {
		t.Fatal(err)
	}
	waitForSpool(t, cmd.Process.Pid, spoolDir)
	cmd.Process.Kill()
	cmd.Wait()
	stdin.Close()
	if stdout.Len() != 0 {
		t.Errorf("%d bytes reached stdout before the process was killed", stdout.Len())
	}
	if entries, _ := os.ReadDir(spoolDir); len(entries) != 0 {
		t.Errorf("the killed process left %d entries in the spool directory", len(entries))
	}
}

// waitForSpool waits until process pid has a file open in dir, and its
// spool file holds some plaintext.
func waitForSpool(t *testing.T, pid int, dir string) {
	t.Helper()
	fds := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		entries, _ := os.ReadDir(fds)
		for _, e := range entries {
			target, err := os.Readlink(filepath.Join(fds, e.Name()))
			if err != nil || !strings.HasPrefix(target, dir+"/") {
				continue
			}
			if st, err := os.Stat(filepath.Join(fds, e.Name())); err == nil && st.Size() > 0 {
				return
			}
		}
	}
	t.Fatal("the open process never spooled any plaintext")
}
