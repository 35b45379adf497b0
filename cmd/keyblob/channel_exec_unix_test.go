//go:build unix

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
	"time"
)

// execServer is a channel serve process of the test binary with its own
// v2 identity.
type execServer struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	addr   string
	pub    string // the server's recipient line, for --server
	dir    string
}

// startExecServer starts channel serve -i NEW-IDENTITY with the handler
// flags given (--exec ... or --forward ...) and the extra environment,
// and waits for its address.
func startExecServer(t *testing.T, env []string, handler ...string) *execServer {
	t.Helper()
	dir := t.TempDir()
	id := newIdentityFile(t, dir, "server.key")
	addrFile := filepath.Join(dir, "addr")
	args := append([]string{"channel", "serve", "--listen", "127.0.0.1:0", "--addr-file", addrFile,
		"-i", filepath.Join(dir, "server.key"), "--rate", "1000"}, handler...)
	srv := &execServer{cmd: exec.Command(keyblobCommand(t), args...), stderr: new(syncBuffer), pub: id.Recipient().String(), dir: dir}
	srv.cmd.Env = append(os.Environ(), env...)
	srv.cmd.Stderr = srv.stderr
	if err := srv.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.cmd.Process.Kill()
		srv.cmd.Wait()
	})
	srv.addr = waitAddr(t, addrFile)
	return srv
}

// connect runs channel connect to the server in-process with input on
// stdin and extra flags, returning the exit status, stdout and stderr.
func (s *execServer) connect(t *testing.T, input []byte, extra ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	args := append([]string{"channel", "connect", s.addr, "--server", s.pub}, extra...)
	code := run(args, bytes.NewReader(input), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// syncBuffer is a bytes.Buffer that a process writes while a test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitLog waits until the log holds want.
func waitLog(t *testing.T, log *syncBuffer, want string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(log.String(), want) {
			return
		}
	}
	t.Fatalf("the log lacks %q after 10s:\n%s", want, log.String())
}

// TestChannelExecDeliversAll runs --exec "head -c 5" with 200 KB of input
// 100 times: head exits after 5 bytes, while the client still sends, and
// every time the client must get exactly those 5 bytes and exit 0 (the
// output was read after Wait had closed it, and EPIPE on head's stdin
// ended the session, in 4 to 7 runs of 10).
func TestChannelExecDeliversAll(t *testing.T) {
	srv := startExecServer(t, nil, "--exec", "head -c 5")
	input := make([]byte, 200_000)
	rand.Read(input)
	for i := range 100 {
		code, stdout, stderr := srv.connect(t, input)
		if code != 0 || stdout != string(input[:5]) {
			t.Fatalf("run %d: exit %d, %d bytes (want 5): %s\nserver:\n%s", i, code, len(stdout), stderr, srv.stderr.String())
		}
	}
	waitLog(t, srv.stderr, `msg="session closed"`)
	if log := srv.stderr.String(); strings.Contains(log, "session failed") {
		t.Errorf("the server logs a failed session:\n%s", log)
	}
}

// TestChannelExecFailedCommand checks that a command that exits non-zero
// or is killed is a failure at the client (exit 1), before and after
// output, and that the server logs "session failed" with the status.
func TestChannelExecFailedCommand(t *testing.T) {
	tests := []struct {
		name, script, output, log, client string
	}{
		{"exit 3 at once", "exit 3", "", "exit status 3", "the server closed the connection without closing the channel"},
		{"exit 3 after output", "printf abc; exit 3", "abc", "exit status 3", "keyblob: error: channel: "},
		{"killed", "printf abc; kill -9 $$", "abc", "signal: killed", "keyblob: error: channel: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startExecServer(t, nil, "--exec", "sh", "--", "-c", tt.script)
			code, stdout, stderr := srv.connect(t, []byte("input"))
			if code != 1 || stdout != tt.output || !strings.Contains(stderr, tt.client) {
				t.Errorf("client: exit %d, stdout %q, stderr:\n%s\nwant exit 1, %q, %q", code, stdout, stderr, tt.output, tt.client)
			}
			waitLog(t, srv.stderr, `msg="session failed"`)
			if log := srv.stderr.String(); !strings.Contains(log, tt.log) {
				t.Errorf("the server log lacks %q:\n%s", tt.log, log)
			}
		})
	}
}

// TestChannelExecEnvironment checks the command's environment: the
// session's KEYBLOB_CHANNEL_* variables (the peer's fingerprint with -i,
// empty without), the allowed variables of the server's, and nothing
// else of it (no KEYBLOB_PASSPHRASE_FILE).
func TestChannelExecEnvironment(t *testing.T) {
	srv := startExecServer(t, []string{"KEYBLOB_PASSPHRASE_FILE=/nonexistent/pass", "KEYBLOB_SECRET=x", "OTHER_SECRET=y", "LANG=C", "TZ=UTC"}, "--exec", "env")
	client := newIdentityFile(t, srv.dir, "client.key")
	tests := []struct {
		name string
		args []string
		peer string
	}{
		{"anonymous", nil, ""},
		{"mutual", []string{"-i", filepath.Join(srv.dir, "client.key")}, client.Recipient().ExchangeFingerprint().String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := srv.connect(t, nil, tt.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			env := map[string]string{}
			for line := range strings.Lines(stdout) {
				k, v, _ := strings.Cut(strings.TrimSuffix(line, "\n"), "=")
				env[k] = v
			}
			want := map[string]string{"KEYBLOB_CHANNEL_PEER": tt.peer, "KEYBLOB_CHANNEL_PROFILE": "v2", "LANG": "C", "TZ": "UTC", "PATH": os.Getenv("PATH")}
			for k, v := range want {
				if got, ok := env[k]; !ok || got != v {
					t.Errorf("%s=%q (set: %v), want %q", k, got, ok, v)
				}
			}
			if a := env["KEYBLOB_CHANNEL_REMOTE_ADDR"]; !strings.HasPrefix(a, "127.0.0.1:") {
				t.Errorf("KEYBLOB_CHANNEL_REMOTE_ADDR=%q, want 127.0.0.1:PORT", a)
			}
			for k := range env {
				if strings.HasPrefix(k, "KEYBLOB_") && !strings.HasPrefix(k, "KEYBLOB_CHANNEL_") || k == "OTHER_SECRET" {
					t.Errorf("the command got %s of the server's environment", k)
				}
			}
		})
	}
}

// TestChannelExecArguments checks that the arguments after "--" reach the
// command each as one, spaces included.
func TestChannelExecArguments(t *testing.T) {
	srv := startExecServer(t, nil, "--exec", "sh", "--", "-c", `printf '[%s]' "$@"`, "sh", "ARG 2", "three")
	code, stdout, stderr := srv.connect(t, nil)
	if code != 0 || stdout != "[ARG 2][three]" {
		t.Fatalf("exit %d, stdout %q, want [ARG 2][three]: %s", code, stdout, stderr)
	}
}

// TestChannelExecNotExecutable checks that a program that exists but is
// not executable is refused at start (exit 2).
func TestChannelExecNotExecutable(t *testing.T) {
	dir := t.TempDir()
	newIdentityFile(t, dir, "server.key")
	prog := filepath.Join(dir, "prog")
	if err := os.WriteFile(prog, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCmd(t, "channel", "serve", "--listen", "127.0.0.1:0", "-i", filepath.Join(dir, "server.key"), "--exec", prog)
	if code != 2 || !strings.Contains(stderr, "--exec "+prog+": cannot run it: permission denied") {
		t.Errorf("exit %d, want 2 saying permission denied:\n%s", code, stderr)
	}
}

// TestChannelServeMaxSessionsClientFails runs serve --max-sessions 1 with
// one session open: a second client is turned away after its handshake,
// and must exit 1 with a message, not 0 as after a clean close.
func TestChannelServeMaxSessionsClientFails(t *testing.T) {
	srv := startExecServer(t, nil, "--max-sessions", "1", "--exec", "cat")
	first := exec.Command(keyblobCommand(t), "channel", "connect", srv.addr, "--server", srv.pub)
	stdin, err := first.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		first.Wait()
	}()
	waitLog(t, srv.stderr, `msg="session open"`)
	code, stdout, stderr := srv.connect(t, []byte("two"))
	if code != 1 || stdout != "" || !strings.Contains(stderr, "refused") {
		t.Errorf("second client: exit %d, stdout %q, stderr:\n%s\nwant exit 1 saying the session was refused", code, stdout, stderr)
	}
}
