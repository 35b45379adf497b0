package channel

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/nettest"
)

// connProfiles are the set-ups the connection tests run on: v2 with the
// default hybrid identities (server-only and mutual) and seed with the
// server's RSA identity key (fresh keys cost a key generation per
// connection; TestSeedFreshKeys covers them).
var connProfiles = []struct {
	name    string
	profile Profile
	kind    string
	mutual  bool
}{
	{"v2", V2, "hybrid", false},
	{"v2-mutual", V2, "hybrid", true},
	{"seed", Seed, "rsa-2048", false},
}

// listen starts a listener on 127.0.0.1 and returns it with a function
// that stops it and waits for its goroutine.
func listen(t testing.TB, cfg *Config, serve func(net.Conn)) (addr string) {
	t.Helper()
	l, err := Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
	})
	return l.Addr().String()
}

// echo sends every byte it reads back, then closes its direction.
func echo(c net.Conn) {
	io.Copy(c, c)
	c.(*Conn).CloseWrite()
}

// tcpPipe returns a client and a server channel over a real TCP
// connection on 127.0.0.1, handshake done.
func tcpPipe(t testing.TB, ccfg, scfg *Config) (client, server *Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		accepted <- c
	}()
	raw, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	rawServer := <-accepted
	if rawServer == nil {
		t.Fatal("accept failed")
	}
	client, err = Client(raw, ccfg)
	if err != nil {
		t.Fatal(err)
	}
	server, err = ServerConn(rawServer, scfg)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 1)
	go func() { errs <- server.Handshake() }()
	if err := client.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	return client, server
}

// TestNetConn runs golang.org/x/net/nettest's net.Conn conformance suite
// on both profiles over TCP.
func TestNetConn(t *testing.T) {
	for _, p := range connProfiles {
		t.Run(p.name, func(t *testing.T) {
			ccfg, scfg := pair(t, p.profile, p.kind, p.mutual)
			nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
				client, server := tcpPipe(t, ccfg, scfg)
				return client, server, func() { client.Close(); server.Close() }, nil
			})
		})
	}
}

// TestEchoRoundTrip sends 1 B to 16 MiB through an echo server over TCP
// and back, in both profiles.
func TestEchoRoundTrip(t *testing.T) {
	sizes := []int{1, 15, 16, 17, 1000, 64<<10 - 1, 64 << 10, 64<<10 + 1, 1 << 20, 16 << 20}
	for _, p := range connProfiles {
		t.Run(p.name, func(t *testing.T) {
			ccfg, scfg := pair(t, p.profile, p.kind, p.mutual)
			addr := listen(t, scfg, echo)
			for _, size := range sizes {
				if testing.Short() && size > 1<<20 {
					continue
				}
				if err := echoOnce(addr, ccfg, size); err != nil {
					t.Fatalf("%d bytes: %v", size, err)
				}
			}
		})
	}
}

// echoOnce dials, writes size random bytes while reading them back, and
// checks the echo and its clean end.
func echoOnce(addr string, cfg *Config, size int) error {
	c, err := Dial("tcp", addr, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	data := make([]byte, size)
	rand.NewChaCha8([32]byte{byte(size)}).Read(data)
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(data)
		if err == nil {
			err = c.CloseWrite()
		}
		werr <- err
	}()
	h := sha256.New()
	n, err := io.Copy(h, c)
	if err != nil {
		return fmt.Errorf("read after %d bytes: %w", n, err)
	}
	if err := <-werr; err != nil {
		return err
	}
	if n != int64(size) || !bytes.Equal(h.Sum(nil), sha256Of(data)) {
		return fmt.Errorf("echo of %d bytes differs", n)
	}
	return nil
}

func sha256Of(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

// TestConcurrentClients runs 100 clients at once against one server in
// each profile.
func TestConcurrentClients(t *testing.T) {
	for _, p := range connProfiles {
		t.Run(p.name, func(t *testing.T) {
			ccfg, scfg := pair(t, p.profile, p.kind, p.mutual)
			addr := listen(t, scfg, echo)
			var wg sync.WaitGroup
			errs := make(chan error, 100)
			for i := range 100 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := echoOnce(addr, ccfg, 1000+i*37); err != nil {
						errs <- err
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

// TestSeedFreshKeys runs seed sessions with fresh keys: from the
// process's pool, from a pool of the config, and of another size.
func TestSeedFreshKeys(t *testing.T) {
	bob := testIdentity(t, "bob-hybrid")
	ccfg := &Config{Profile: Seed, Peer: bob.Recipient()}
	pool, err := NewKeyPool(KeyPoolConfig{Size: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for _, tc := range []struct {
		name string
		cfg  *Config
	}{
		{"process pool", &Config{Profile: Seed, Identity: bob}},
		{"config pool", &Config{Profile: Seed, Identity: bob, KeyPool: pool}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := listen(t, tc.cfg, echo)
			for range 3 {
				if err := echoOnce(addr, ccfg, 100); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	t.Run("3072 bits", func(t *testing.T) {
		pool, err := NewKeyPool(KeyPoolConfig{Bits: 3072, Size: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		client, server := tcpPipe(t, ccfg, &Config{Profile: Seed, Identity: bob, RSABits: 3072, KeyPool: pool})
		defer client.Close()
		defer server.Close()
		if bits := client.ConnectionState().SeedKeyBits; bits != 3072 {
			t.Errorf("SeedKeyBits = %d", bits)
		}
	})
}

// TestTruncation checks that a transport that ends without a close
// record is ErrTruncated, and that a close record is io.EOF.
func TestTruncation(t *testing.T) {
	for _, p := range connProfiles {
		t.Run(p.name, func(t *testing.T) {
			ccfg, scfg := pair(t, p.profile, p.kind, p.mutual)
			client, server := tcpPipe(t, ccfg, scfg)
			if _, err := server.Write([]byte("data")); err != nil {
				t.Fatal(err)
			}
			server.NetConn().Close() // no close record
			buf := make([]byte, 10)
			n, err := io.ReadFull(client, buf[:4])
			if err != nil || string(buf[:n]) != "data" {
				t.Fatalf("read %q, %v", buf[:n], err)
			}
			if _, err := client.Read(buf); !errors.Is(err, ErrTruncated) {
				t.Errorf("after a cut: %v, want ErrTruncated", err)
			}
			client.Close()
			server.Close()

			client, server = tcpPipe(t, ccfg, scfg)
			server.Close()
			if _, err := client.Read(buf); err != io.EOF {
				t.Errorf("after Close: %v, want io.EOF", err)
			}
			client.Close()
		})
	}
}

// TestKeyUpdateConn checks key updates on demand and after the byte and
// record limits, with the epochs the application sees.
func TestKeyUpdateConn(t *testing.T) {
	ccfg, scfg := pair(t, V2, "x25519", false)
	ccfg.Limits.KeyUpdateRecords = 3
	scfg.Limits.KeyUpdateBytes = 1000
	client, server := tcpPipe(t, ccfg, scfg)
	defer client.Close()
	defer server.Close()
	go func() {
		for range 6 {
			client.Write([]byte("x"))
		}
		client.UpdateKey()
		client.Write([]byte("y"))
		server.Write(make([]byte, 2500))
	}()
	buf := make([]byte, 7)
	if _, err := io.ReadFull(server, buf); err != nil || string(buf) != "xxxxxxy" {
		t.Fatalf("server read %q, %v", buf, err)
	}
	if _, err := io.ReadFull(client, make([]byte, 2500)); err != nil {
		t.Fatal(err)
	}
	cs, ss := client.ConnectionState(), server.ConnectionState()
	// Records 3 and 6 reach the record limit, then the update on demand.
	if cs.SendEpoch != 3 || ss.ReceiveEpoch != 3 {
		t.Errorf("client send epoch %d, server receive epoch %d, want 3", cs.SendEpoch, ss.ReceiveEpoch)
	}
	if ss.SendEpoch != 1 || cs.ReceiveEpoch != 1 {
		t.Errorf("server send epoch %d, client receive epoch %d, want 1", ss.SendEpoch, cs.ReceiveEpoch)
	}
}

// TestHandshakeTimeout checks that a peer that never answers fails the
// handshake within Limits.HandshakeTimeout, and a context too.
func TestHandshakeTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	ccfg, _ := pair(t, V2, "x25519", false)
	ccfg.Limits.HandshakeTimeout = 100 * time.Millisecond
	start := time.Now()
	if _, err := Dial("tcp", l.Addr().String(), ccfg); !errors.Is(err, ErrHandshake) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Dial to a silent server: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	ccfg.Limits.HandshakeTimeout = -1
	if _, err := DialContext(ctx, "tcp", l.Addr().String(), ccfg); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("DialContext to a silent server: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("timeouts took %v", d)
	}
}
