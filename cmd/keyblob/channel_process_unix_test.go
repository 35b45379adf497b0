//go:build unix

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/keyblob/keyblob"
)

// channelServer is a `keyblob channel serve` process of the test binary.
type channelServer struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	addr   string
	id     *keyblob.Identity
}

// startChannelServer starts channel serve --echo as id (written to a
// key file) with extra flags, and waits for its address.
func startChannelServer(t *testing.T, id *keyblob.Identity, extra ...string) *channelServer {
	t.Helper()
	return startChannelServerArgs(t, id, append(extra, "--echo")...)
}

// startChannelServerArgs starts channel serve as id with the flags given
// (a handler among them), and waits for its address.
func startChannelServerArgs(t *testing.T, id *keyblob.Identity, extra ...string) *channelServer {
	t.Helper()
	dir := t.TempDir()
	pem, err := id.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	keyFile, addrFile := filepath.Join(dir, "server.key"), filepath.Join(dir, "addr")
	if err := os.WriteFile(keyFile, pem, 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"channel", "serve", "--listen", "127.0.0.1:0", "--addr-file", addrFile, "-i", keyFile}, extra...)
	s := &channelServer{cmd: exec.Command(keyblobCommand(t), args...), stderr: new(syncBuffer), id: id}
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.cmd.Process.Kill(); s.cmd.Wait() })
	s.addr = waitAddr(t, addrFile)
	return s
}

// stop ends the server with SIGTERM and waits for it.
func (s *channelServer) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("server: %v\n%s", err, s.stderr.String())
	}
}
