package channel

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// echoHandler sends every message back, then closes its sending side.
func echoHandler(c *Conn) error {
	if _, err := io.Copy(c, c); err != nil {
		return err
	}
	return c.CloseWrite()
}

// startServer runs srv (with the x25519 pair's server config and echo if
// unset) on 127.0.0.1 and returns its address, the client config and
// Serve's result; the cleanup closes srv and checks Serve's result.
func startServer(t *testing.T, srv *Server) (string, *Config, chan error) {
	t.Helper()
	ccfg, scfg := pair(t, V2, "x25519", false)
	if srv.Config == nil {
		srv.Config = scfg
	}
	if srv.Handler == nil {
		srv.Handler = echoHandler
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return ln.Addr().String(), ccfg, done
}

// echoes reports whether c is served: msg comes back within 5 s.
func echoes(c *Conn, msg string) bool {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write([]byte(msg)); err != nil {
		return false
	}
	got := make([]byte, len(msg))
	_, err := io.ReadFull(c, got)
	return err == nil && string(got) == msg
}

// served dials addr and reports whether the session is served.
func served(addr string, cfg *Config) bool {
	c, err := Dial("tcp", addr, cfg)
	if err != nil {
		return false
	}
	defer c.Close()
	return echoes(c, "ping")
}

// eventually reports whether f holds within 5 s.
func eventually(f func() bool) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if f() {
			return true
		}
	}
	return false
}

// idleConns opens n TCP connections to addr that send nothing.
func idleConns(t *testing.T, addr string, n int) []net.Conn {
	var cs []net.Conn
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		cs = append(cs, c)
	}
	return cs
}

// closedByServer reports whether the server closes c (no data) within 5 s.
func closedByServer(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// TestServerLimits runs servers over real sockets: each limit refuses what
// it must and lets the rest through.
func TestServerLimits(t *testing.T) {
	tests := []struct {
		name string
		srv  *Server
		run  func(t *testing.T, addr string, cfg *Config)
	}{
		{"sessions", &Server{MaxSessions: 1}, func(t *testing.T, addr string, cfg *Config) {
			first, err := Dial("tcp", addr, cfg)
			if err != nil || !echoes(first, "one") {
				t.Fatalf("first session not served: %v", err)
			}
			if served(addr, cfg) {
				t.Fatal("a second session was served with the one slot taken")
			}
			second, err := Dial("tcp", addr, cfg)
			if err != nil {
				t.Fatal(err)
			}
			var ce *CloseError
			if _, err := second.Read(make([]byte, 1)); !errors.As(err, &ce) || ce.Reason != CloseRefused {
				t.Errorf("the refused client read %v, want the close reason refused", err)
			}
			second.Close()
			first.Close()
			if !eventually(func() bool { return served(addr, cfg) }) {
				t.Fatal("no session once the first ended")
			}
		}},
		{"handshakes apart from sessions", &Server{MaxSessions: 1, MaxHandshakes: 3}, func(t *testing.T, addr string, cfg *Config) {
			idle := idleConns(t, addr, 2) // two of the three handshake slots
			if !served(addr, cfg) {
				t.Fatal("idle connections took the session slot")
			}
			idle = append(idle, idleConns(t, addr, 1)...) // all three
			if served(addr, cfg) {
				t.Fatal("a handshake beyond MaxHandshakes was served")
			}
			for _, c := range idle {
				c.Close()
			}
			if !eventually(func() bool { return served(addr, cfg) }) {
				t.Fatal("no session once the handshake slots were free")
			}
		}},
		{"per-source rate", &Server{HandshakeRate: 0.01, HandshakeBurst: 2}, func(t *testing.T, addr string, cfg *Config) {
			for i := range 2 {
				if !served(addr, cfg) {
					t.Fatalf("handshake %d of the burst refused", i)
				}
			}
			if served(addr, cfg) {
				t.Fatal("a handshake over the burst was served")
			}
		}},
		{"handshake timeout", &Server{}, func(t *testing.T, addr string, cfg *Config) {
			if !closedByServer(idleConns(t, addr, 1)[0]) {
				t.Fatal("a connection without a handshake was kept past HandshakeTimeout")
			}
		}},
		{"idle timeout", &Server{}, func(t *testing.T, addr string, cfg *Config) {
			c, err := Dial("tcp", addr, cfg)
			if err != nil || !echoes(c, "one") {
				t.Fatalf("session not served: %v", err)
			}
			defer c.Close()
			if !closedByServer(c) {
				t.Fatal("an idle session was kept past IdleTimeout")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, scfg := pair(t, V2, "x25519", false)
			scfg.Limits.HandshakeTimeout, scfg.Limits.IdleTimeout = 300*time.Millisecond, 300*time.Millisecond
			if tt.name == "handshakes apart from sessions" || tt.name == "sessions" {
				scfg.Limits.HandshakeTimeout = time.Minute
			}
			tt.srv.Config = scfg
			addr, cfg, _ := startServer(t, tt.srv)
			tt.run(t, addr, cfg)
		})
	}
}

// TestRateTable checks the bounded table of limiters: a burst, then
// refusals; other keys apart; a full table forgets keys back at a full
// burst, and refuses new ones if there are none.
func TestRateTable(t *testing.T) {
	l := newRateTable(3, 3, DefaultMaxSources)
	for i := range 3 {
		if !l.allow("a") {
			t.Fatalf("event %d of the burst refused", i)
		}
	}
	if l.allow("a") {
		t.Error("a fourth event within the second was allowed")
	}
	if !l.allow("b") {
		t.Error("another key was refused")
	}
	l.max = 2
	if l.allow("c") {
		t.Error("a new key was allowed with the table full of busy ones")
	}
	l.m["b"] = rate.NewLimiter(l.perSec, l.burst) // b is idle again
	if !l.allow("c") {
		t.Error("a new key was refused although an idle one could be forgotten")
	}
	if len(l.m) != 2 {
		t.Errorf("table holds %d keys, want 2", len(l.m))
	}
}

// TestSourceKeys: one source per IPv4 address whatever the port (the
// same in its IPv6-mapped form) and per IPv6 /64; one network per IPv4
// /24 and IPv6 /48.
func TestSourceKeys(t *testing.T) {
	v4 := func(a, b, c, d byte, port int) net.Addr { return &net.TCPAddr{IP: net.IPv4(a, b, c, d), Port: port} }
	v6 := func(s string) net.Addr { return &net.TCPAddr{IP: net.ParseIP(s), Port: 1} }
	tests := []struct {
		a, b                net.Addr
		sameSource, sameNet bool
	}{
		{v4(10, 0, 0, 1, 1), v4(10, 0, 0, 1, 2), true, true},
		{&net.TCPAddr{IP: net.IPv4(10, 0, 0, 1).To4()}, &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1).To16()}, true, true},
		{v4(10, 0, 0, 1, 1), v4(10, 0, 0, 2, 1), false, true},
		{v4(10, 0, 0, 1, 1), v4(10, 0, 1, 1, 1), false, false},
		{v6("2001:db8::1"), v6("2001:db8::2"), true, true},
		{v6("2001:db8::1"), v6("2001:db8:0:1::1"), false, true},
		{v6("2001:db8::1"), v6("2001:db8:1::1"), false, false},
	}
	for _, tt := range tests {
		sa, na := sourceKeys(tt.a)
		sb, nb := sourceKeys(tt.b)
		if (sa == sb) != tt.sameSource || (na == nb) != tt.sameNet {
			t.Errorf("%v (%s, %s) and %v (%s, %s): same source %v, network %v; want %v, %v",
				tt.a, sa, na, tt.b, sb, nb, sa == sb, na == nb, tt.sameSource, tt.sameNet)
		}
	}
}

// TestAdmissionTiers checks that many addresses of one /24 together get
// no more than the network's rate, that another network is apart, and
// that the global rate bounds them all.
func TestAdmissionTiers(t *testing.T) {
	a := (&Server{HandshakeRate: 1, GlobalHandshakeRate: 100}).newAdmission()
	admitted := 0
	for i := range 50 {
		if a.allow(&net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(i+1))}) == "" {
			admitted++
		}
	}
	if admitted != prefixFactor {
		t.Errorf("50 addresses of one /24 got %d handshakes, want the network's burst %d", admitted, prefixFactor)
	}
	if over := a.allow(&net.TCPAddr{IP: net.IPv4(127, 0, 1, 1)}); over != "" {
		t.Errorf("another /24 refused (%s)", over)
	}
	g := (&Server{GlobalHandshakeRate: 10}).newAdmission()
	admitted = 0
	for i := range 100 {
		if g.allow(&net.TCPAddr{IP: net.IPv4(127, byte(i), 0, 1)}) == "" {
			admitted++
		}
	}
	if admitted != 10 {
		t.Errorf("100 networks got %d handshakes under a global burst of 10", admitted)
	}
}

// TestServerShutdown: Shutdown stops accepting, lets an open session
// finish, and returns nil once it has; with a session that does not end,
// it closes it when ctx is done and returns ctx's error.
func TestServerShutdown(t *testing.T) {
	for _, finish := range []bool{true, false} {
		srv := &Server{}
		addr, cfg, done := startServer(t, srv)
		c, err := Dial("tcp", addr, cfg)
		if err != nil || !echoes(c, "one") {
			t.Fatalf("session not served: %v", err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		if finish {
			ctx, cancel = context.WithTimeout(t.Context(), time.Minute)
		}
		shut := make(chan error, 1)
		go func() { shut <- srv.Shutdown(ctx) }()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Fatalf("Serve returned %v after Shutdown, want ErrServerClosed", err)
		}
		done <- ErrServerClosed // for the cleanup
		if _, err := Dial("tcp", addr, cfg); err == nil {
			t.Error("a connection was accepted after Shutdown")
		}
		if finish {
			if !echoes(c, "two") {
				t.Fatal("the open session was cut by Shutdown")
			}
			c.CloseWrite()
			io.Copy(io.Discard, c)
		}
		err = <-shut
		if finish && err != nil || !finish && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown (session finishes: %v) returned %v", finish, err)
		}
		if !finish {
			var ce *CloseError
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Read(make([]byte, 1)); !errors.As(err, &ce) || ce.Reason != CloseShutdown {
				t.Errorf("the session left at the deadline read %v, want the close reason shutdown", err)
			}
		}
		c.Close()
		cancel()
	}
}

// TestServerClose: Close ends Serve with ErrServerClosed and closes the
// open sessions; Serve after it returns ErrServerClosed at once.
func TestServerClose(t *testing.T) {
	srv := &Server{}
	addr, cfg, done := startServer(t, srv)
	c, err := Dial("tcp", addr, cfg)
	if err != nil || !echoes(c, "one") {
		t.Fatalf("session not served: %v", err)
	}
	defer c.Close()
	srv.Close()
	if err := <-done; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve returned %v after Close, want ErrServerClosed", err)
	}
	done <- ErrServerClosed
	if !closedByServer(c) {
		t.Error("an open session survived Close")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(ln); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Close returned %v, want ErrServerClosed", err)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Error("Serve after Close left its listener open")
	}
}
