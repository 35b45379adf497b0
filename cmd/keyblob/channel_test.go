package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/channel"
	"github.com/rogpeppe/go-internal/testscript"
)

func init() { scriptCmds["waitfile"] = cmdWaitfile }

// waitfileTimeout bounds how long waitfile waits.
const waitfileTimeout = 30 * time.Second

// cmdWaitfile is the script command
//
//	waitfile FILE [VAR]     wait until FILE exists and is not empty (a
//	                        background server wrote its address), then
//	                        set VAR to its first line
func cmdWaitfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: waitfile FILE [VAR]")
	}
	deadline := time.Now().Add(waitfileTimeout)
	for {
		data, err := os.ReadFile(ts.MkAbs(args[0]))
		if err == nil && len(data) > 0 {
			if len(args) == 2 {
				line, _, _ := strings.Cut(string(data), "\n")
				ts.Setenv(args[1], line)
			}
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s did not appear within %v", args[0], waitfileTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestChannelMaxSessions runs a server with one session slot on
// 127.0.0.1: while a session is open, a second client is closed before
// its handshake; once the first ends, a new client is served. A stop
// signal ends the server, which then returns nil.
func TestChannelMaxSessions(t *testing.T) {
	id, err := keyblob.GenerateIdentity("x25519")
	if err != nil {
		t.Fatal(err)
	}
	addr, stop, done := startTestServer(t, &channel.Server{Config: &channel.Config{Identity: id}, Handler: echoSession, MaxSessions: 1, HandshakeRate: 100})
	client := &channel.Config{Peer: id.Recipient()}
	first := dialEcho(t, addr, client, "one")
	// Idle connections that never start a handshake take no session slot.
	for range 3 {
		idle, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer idle.Close()
	}
	if second, err := channel.Dial("tcp", addr, client); err == nil {
		// The handshake may finish; the session is closed, not served.
		second.SetDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 3)
		if _, err := second.Write([]byte("two")); err == nil {
			if _, err := io.ReadFull(second, buf); err == nil {
				t.Fatal("a second session was served with one slot taken")
			}
		}
		second.Close()
	}
	if err := first.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(first); err != nil {
		t.Fatalf("the first session did not end cleanly: %v", err)
	}
	first.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := channel.Dial("tcp", addr, client)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no session after the first one ended: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("server returned %v after the stop signal", err)
	}
}

// startTestServer runs srv on 127.0.0.1 in-process as channel serve
// does, until stop is called.
func startTestServer(t *testing.T, srv *channel.Server) (string, context.CancelFunc, chan error) {
	t.Helper()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := channel.NewListener(raw, srv.Config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	srv.Logger = slog.New(slog.DiscardHandler)
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- serveUntil(ctx, srv, ln, time.Second) }()
	return ln.Addr().String(), stop, done
}

// dialEcho connects, sends msg and checks that it comes back.
func dialEcho(t *testing.T, addr string, cfg *channel.Config, msg string) *channel.Conn {
	t.Helper()
	c, err := channel.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	dialEchoOn(t, c, msg)
	return c
}

// dialEchoOn sends msg on an open session and checks that it comes back.
func dialEchoOn(t *testing.T, c *channel.Conn, msg string) {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != msg {
		t.Fatalf("echo: got %q, %v; want %q", got, err, msg)
	}
}
