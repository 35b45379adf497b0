//go:build unix

package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/channel"
)

// TestChannelServeSIGTERM stops a channel server process with SIGTERM
// while a session is open: it stops accepting at once, lets the session
// finish (the echo still works, and ends with a clean close), and exits 0.
func TestChannelServeSIGTERM(t *testing.T) {
	srv := startServeProcess(t, "--grace", "30s")
	session := dialEcho(t, srv.addr, srv.client, "before")
	srv.cmd.Process.Signal(syscall.SIGTERM)
	waitRefused(t, srv.addr, srv.client)
	dialEchoOn(t, session, "after the signal")
	if err := session.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(session); err != nil {
		t.Fatalf("the session did not end cleanly: %v", err)
	}
	session.Close()
	if err := srv.cmd.Wait(); err != nil {
		t.Fatalf("server: %v\n%s", err, srv.stderr.String())
	}
	for _, want := range []string{`msg="shutting down" signal=terminated`, `msg="session closed"`} {
		if !strings.Contains(srv.stderr.String(), want) {
			t.Errorf("server log lacks %q:\n%s", want, srv.stderr.String())
		}
	}
}

// TestChannelServeGrace checks that a session still open when the grace
// period ends is closed, and the server exits 0 soon after.
func TestChannelServeGrace(t *testing.T) {
	srv := startServeProcess(t, "--grace", "1s")
	session := dialEcho(t, srv.addr, srv.client, "idle from now on")
	defer session.Close()
	start := time.Now()
	srv.cmd.Process.Signal(syscall.SIGTERM)
	if err := srv.cmd.Wait(); err != nil {
		t.Fatalf("server: %v\n%s", err, srv.stderr.String())
	}
	if d := time.Since(start); d < time.Second || d > 10*time.Second {
		t.Errorf("server exited after %v, want about the 1s grace period", d)
	}
	if !strings.Contains(srv.stderr.String(), "grace period over: closed the remaining sessions\" sessions=1") {
		t.Errorf("server log lacks the forced close:\n%s", srv.stderr.String())
	}
	var ce *channel.CloseError
	if _, err := io.ReadAll(session); !errors.As(err, &ce) || ce.Reason != channel.CloseShutdown {
		t.Errorf("reading the session closed at the end of the grace period: %v, want the close reason shutdown", err)
	}
}

// serveProcess is a channel serve --echo process of the test binary.
type serveProcess struct {
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	addr   string
	client *channel.Config
}

// startServeProcess starts channel serve --echo with a new identity and
// extra flags, and waits for its address.
func startServeProcess(t *testing.T, extra ...string) *serveProcess {
	t.Helper()
	dir := t.TempDir()
	id, err := keyblob.GenerateIdentity("x25519")
	if err != nil {
		t.Fatal(err)
	}
	pem, err := id.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	keyFile, addrFile := filepath.Join(dir, "server.key"), filepath.Join(dir, "addr")
	if err := os.WriteFile(keyFile, pem, 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"channel", "serve", "--listen", "127.0.0.1:0", "--addr-file", addrFile, "-i", keyFile, "--echo"}, extra...)
	srv := &serveProcess{cmd: exec.Command(keyblobCommand(t), args...), stderr: new(bytes.Buffer), client: &channel.Config{Peer: id.Recipient()}}
	srv.cmd.Stderr = srv.stderr
	if err := srv.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.cmd.Process.Kill() })
	srv.addr = waitAddr(t, addrFile)
	return srv
}

// waitAddr waits for a server's --addr-file.
func waitAddr(t *testing.T, file string) string {
	t.Helper()
	for deadline := time.Now().Add(waitfileTimeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if data, err := os.ReadFile(file); err == nil && len(data) > 0 {
			return strings.TrimSpace(string(data))
		}
	}
	t.Fatalf("no address in %s", file)
	return ""
}

// waitRefused waits until the server accepts no new session.
func waitRefused(t *testing.T, addr string, cfg *channel.Config) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		c, err := channel.Dial("tcp", addr, cfg)
		if err != nil {
			return
		}
		c.Close()
	}
	t.Fatal("the server still accepts sessions 10s after SIGTERM")
}
