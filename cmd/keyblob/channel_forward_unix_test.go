//go:build unix

package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// forwardProcess is a channel connect --forward-local process of the test
// binary, forwarding to a channel serve --echo process.
type forwardProcess struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	addr   string // where it listens, as written to --addr-file
}

// startForwardLocal starts an echo server and connect --forward-local
// listen to it, with extra flags, and waits for its address.
func startForwardLocal(t *testing.T, listen string, extra ...string) *forwardProcess {
	t.Helper()
	srv := startServeProcess(t)
	addrFile := filepath.Join(t.TempDir(), "local.addr")
	args := append([]string{"channel", "connect", srv.addr, "--server", srv.client.Peer.String(),
		"--forward-local", listen, "--addr-file", addrFile}, extra...)
	p := &forwardProcess{cmd: exec.Command(keyblobCommand(t), args...), stderr: new(syncBuffer)}
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		p.cmd.Wait()
	})
	p.addr = waitAddr(t, addrFile)
	return p
}

// dialLocal opens a local connection at addr and checks that msg comes
// back through the forwarding.
func dialLocal(t *testing.T, addr, msg string) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	echoLocal(t, c, msg)
	return c.(*net.TCPConn)
}

// echoLocal sends msg and reads it back, within 10 seconds.
func echoLocal(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != msg {
		t.Fatalf("through the forwarding: got %q, %v; want %q", got, err, msg)
	}
}

// waitExit waits at most limit for the process to exit and returns its
// exit status and how long it took.
func waitExit(t *testing.T, cmd *exec.Cmd, limit time.Duration) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode(), time.Since(start)
	case <-time.After(limit):
		t.Fatalf("still running %v after the signal", limit)
		return 0, 0
	}
}

// TestForwardLocalSIGINTGrace interrupts connect --forward-local with an
// idle local connection open: it stops accepting at once, a forwarding
// still works and ends cleanly during --grace, the idle one is closed
// when the grace period is over, and the process exits 0.
func TestForwardLocalSIGINTGrace(t *testing.T) {
	p := startForwardLocal(t, "127.0.0.1:0", "--grace", "2s")
	idle := dialLocal(t, p.addr, "idle from now on")
	busy := dialLocal(t, p.addr, "before")
	p.cmd.Process.Signal(syscall.SIGINT)
	waitLog(t, p.stderr, `msg="shutting down" signal=interrupt grace=2s`)
	if c, err := net.DialTimeout("tcp", p.addr, time.Second); err == nil {
		c.Close()
		t.Error("a new local connection was accepted after SIGINT")
	}
	echoLocal(t, busy, "during the grace period")
	busy.CloseWrite()
	if rest, err := io.ReadAll(busy); err != nil || len(rest) != 0 {
		t.Errorf("the forwarding did not end cleanly: %q, %v", rest, err)
	}
	code, took := waitExit(t, p.cmd, 10*time.Second)
	if code != 0 || took > 5*time.Second {
		t.Errorf("exit %d after %v, want 0 after the 2s grace period\n%s", code, took, p.stderr.String())
	}
	idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := idle.Read(make([]byte, 1)); err == nil {
		t.Error("the idle local connection is still open")
	}
	log := p.stderr.String()
	for _, want := range []string{
		`msg="grace period over: closed the remaining forwardings" sessions=1`,
		`msg="forwarding closed" local=` + busy.LocalAddr().String(),
		`msg="forwarding closed" local=` + idle.LocalAddr().String(),
		`reason="closed at shutdown"`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "use of closed network connection") {
		t.Errorf("the log shows a raw error:\n%s", log)
	}
}

// TestForwardLocalSecondSignal checks that a second SIGINT stops connect
// --forward-local at once, whatever its grace period.
func TestForwardLocalSecondSignal(t *testing.T) {
	p := startForwardLocal(t, "127.0.0.1:0", "--grace", "60s")
	dialLocal(t, p.addr, "idle from now on")
	p.cmd.Process.Signal(syscall.SIGINT)
	waitLog(t, p.stderr, `msg="shutting down"`)
	p.cmd.Process.Signal(syscall.SIGINT)
	code, took := waitExit(t, p.cmd, 10*time.Second)
	if code != signalStatus(syscall.SIGINT) || took > 3*time.Second {
		t.Errorf("exit %d after %v, want %d at once\n%s", code, took, signalStatus(syscall.SIGINT), p.stderr.String())
	}
}

// TestForwardLocalNonLoopback binds every address: connect warns that
// anyone who reaches it uses the channel, and forwards (here only from
// 127.0.0.1), logging the bytes each way.
func TestForwardLocalNonLoopback(t *testing.T) {
	p := startForwardLocal(t, "0.0.0.0:0")
	// Go binds 0.0.0.0:0 on every address, [::] where IPv6 is available.
	want := "keyblob: warning: --forward-local listens on " + p.addr + ", not a loopback address: anyone who can reach it uses the channel to 127.0.0.1:"
	if !strings.Contains(p.stderr.String(), want) {
		t.Errorf("no warning %q:\n%s", want, p.stderr.String())
	}
	_, port, err := net.SplitHostPort(p.addr)
	if err != nil {
		t.Fatal(err)
	}
	c := dialLocal(t, net.JoinHostPort("127.0.0.1", port), "twelve bytes")
	echoLocal(t, c, "and 9 more")
	c.CloseWrite()
	if rest, err := io.ReadAll(c); err != nil || len(rest) != 0 {
		t.Fatalf("the forwarding did not end cleanly: %q, %v", rest, err)
	}
	waitLog(t, p.stderr, fmt.Sprintf(`msg="forwarding closed" local=%s server=`, c.LocalAddr()))
	if want := "bytes_in=22 bytes_out=22"; !strings.Contains(p.stderr.String(), want) {
		t.Errorf("the log lacks %q:\n%s", want, p.stderr.String())
	}
}

// TestForwardLocalMaxSessions checks that with --max-sessions 1 a second
// local connection is closed at once, and logged, while the first is
// served; once the first ends, a new one is served.
func TestForwardLocalMaxSessions(t *testing.T) {
	p := startForwardLocal(t, "127.0.0.1:0", "--max-sessions", "1")
	first := dialLocal(t, p.addr, "one")
	second, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	second.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := second.Read(make([]byte, 1)); err == nil || isTimeoutErr(err) {
		t.Fatalf("a second local connection beyond --max-sessions 1 was not closed: %d, %v", n, err)
	}
	waitLog(t, p.stderr, `msg="refused: too many sessions" local=`+second.LocalAddr().String()+" max=1")
	first.CloseWrite()
	io.ReadAll(first)
	waitLog(t, p.stderr, `msg="forwarding closed" local=`+first.LocalAddr().String())
	dialLocal(t, p.addr, "three")
}

// isTimeoutErr reports whether err is a deadline's.
func isTimeoutErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestChannelForwardTarget runs serve --forward against targets that end
// in each way: one that half-closes after its answer and reads the rest
// (the client gets all of the answer and exits 0), one that resets and
// one that cannot be reached (the client exits 1).
func TestChannelForwardTarget(t *testing.T) {
	answer := strings.Repeat("answer ", 15_000)
	tests := []struct {
		name   string
		target func(*net.TCPConn)
		code   int
		stdout string
	}{
		{"half-close", func(c *net.TCPConn) {
			io.WriteString(c, answer)
			c.CloseWrite()
			io.Copy(io.Discard, c)
		}, 0, answer},
		{"reset", func(c *net.TCPConn) {
			c.SetLinger(0)
		}, 1, ""},
		{"unreachable", nil, 1, ""},
	}
	input := []byte(strings.Repeat("input ", 40_000))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			if tt.target == nil {
				ln.Close() // nothing listens there now
			} else {
				go func() {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					tt.target(c.(*net.TCPConn))
					c.Close()
				}()
			}
			srv := startExecServer(t, nil, "--forward", ln.Addr().String())
			code, stdout, stderr := srv.connect(t, input)
			if code != tt.code || (tt.code == 0 && stdout != tt.stdout) {
				t.Errorf("exit %d with %d bytes, want %d with %d:\n%s\nserver:\n%s", code, len(stdout), tt.code, len(tt.stdout), stderr, srv.stderr.String())
			}
			if tt.code != 0 {
				waitLog(t, srv.stderr, `msg="session failed"`)
			}
		})
	}
}
