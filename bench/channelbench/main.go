// Command channelbench measures keyblob channels against crypto/tls 1.3
// and plain TCP over loopback, side by side in one run, and prints a
// Markdown table with the ratios and targets of issue #10. See
// bench/README.md; bench/channel-vs-tls.sh runs it.
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/channel"
)

func main() {
	size := flag.Int64("size", 256<<20, "bytes per bulk transfer")
	dur := flag.Duration("duration", 3*time.Second, "length of each handshake measurement")
	clients := flag.Int("clients", 32, "concurrent handshaking clients")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("channelbench: ")
	if err := run(*size, *dur, *clients); err != nil {
		log.Fatal(err)
	}
}

// A protocol is one row set: how to wrap a server and a client
// connection.
type protocol struct {
	name   string
	server func(net.Conn) (net.Conn, error)
	client func(net.Conn) (net.Conn, error)
	// listener, if set, wraps the listener instead of server.
	listener func(net.Listener) (net.Listener, error)
}

type setup struct {
	v2, v2Mutual, seedIdentity, seedFresh, seedPool, tls13, tcp protocol
	closers                                                     []func()
}

func run(size int64, dur time.Duration, clients int) error {
	s, err := newSetup()
	if err != nil {
		return err
	}
	defer s.close()
	r := &results{size: size, dur: dur, clients: clients}
	log.Printf("bulk: %d MiB per protocol", size>>20)
	for _, p := range []protocol{s.tcp, s.tls13, s.v2, s.seedIdentity} {
		mbs, err := bulk(p, size)
		if err != nil {
			return fmt.Errorf("bulk %s: %w", p.name, err)
		}
		r.bulk = append(r.bulk, row{p.name, mbs})
	}
	log.Printf("handshakes: %d clients, %v each", clients, dur)
	for _, p := range []protocol{s.tls13, s.v2, s.v2Mutual, s.seedIdentity, s.seedPool, s.seedFresh} {
		hs, err := handshakes(p, dur, clients)
		if err != nil {
			return fmt.Errorf("handshakes %s: %w", p.name, err)
		}
		r.hs = append(r.hs, row{p.name, hs})
	}
	r.rsaBound = rsaBound(dur)
	r.print(os.Stdout)
	return nil
}

func (s *setup) close() {
	for _, f := range s.closers {
		f()
	}
}

func newSetup() (*setup, error) {
	hybrid, err := keyblob.GenerateIdentity(keyblob.KindHybrid)
	if err != nil {
		return nil, err
	}
	client, err := keyblob.GenerateIdentity(keyblob.KindHybrid)
	if err != nil {
		return nil, err
	}
	rsaID, err := keyblob.GenerateIdentity(keyblob.KindRSA2048)
	if err != nil {
		return nil, err
	}
	s := &setup{}
	s.tcp = protocol{name: "TCP", server: same, client: same}
	v2s := &channel.Config{Identity: hybrid}
	s.v2 = channelProto("v2", v2s, &channel.Config{Peer: hybrid.Recipient()})
	s.v2Mutual = channelProto("v2 mutual", v2s, &channel.Config{Peer: hybrid.Recipient(), Identity: client})
	seedClient := &channel.Config{Profile: channel.Seed, Peer: rsaID.Recipient()}
	s.seedIdentity = channelProto("seed identity key", &channel.Config{
		Profile: channel.Seed, Identity: rsaID, SeedKey: channel.SeedKeyIdentity,
		// Every handshake is a new session: a cache large enough for the run.
		SeedReplay: channel.NewMemorySeedReplay(1 << 22),
	}, seedClient)
	// Fresh keys per session, generated in the handshake (Server without a
	// pool), and from a Listener's pool of DefaultKeyPoolSize keys.
	seedFresh := &channel.Config{Profile: channel.Seed, Identity: rsaID}
	s.seedFresh = channelProto("seed fresh key per session", seedFresh, seedClient)
	s.seedPool = channelProto("seed fresh key, pool", seedFresh, seedClient)
	s.seedPool.listener = func(l net.Listener) (net.Listener, error) { return channel.NewListener(l, seedFresh) }
	s.tls13, err = tlsProto()
	return s, err
}

func same(c net.Conn) (net.Conn, error) { return c, nil }

func channelProto(name string, server, client *channel.Config) protocol {
	return protocol{
		name:   name,
		server: func(c net.Conn) (net.Conn, error) { return channel.ServerConn(c, server) },
		client: func(c net.Conn) (net.Conn, error) {
			cc, err := channel.Client(c, client)
			if err != nil {
				return nil, err
			}
			return cc, cc.Handshake()
		},
	}
}

// tlsProto is TLS 1.3 with an Ed25519 certificate and X25519MLKEM768,
// full handshakes only (no resumption).
func tlsProto() (protocol, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return protocol{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bench"},
		DNSNames: []string{"bench"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		return protocol{}, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return protocol{}, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	curves := []tls.CurveID{tls.X25519MLKEM768}
	scfg := &tls.Config{
		MinVersion: tls.VersionTLS13, CurvePreferences: curves, SessionTicketsDisabled: true,
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: priv, Leaf: cert}},
	}
	ccfg := &tls.Config{MinVersion: tls.VersionTLS13, CurvePreferences: curves, RootCAs: roots, ServerName: "bench"}
	return protocol{
		name:   "TLS 1.3",
		server: func(c net.Conn) (net.Conn, error) { return tls.Server(c, scfg), nil },
		client: func(c net.Conn) (net.Conn, error) {
			tc := tls.Client(c, ccfg)
			if err := tc.Handshake(); err != nil {
				return nil, err
			}
			if tc.ConnectionState().CurveID != tls.X25519MLKEM768 {
				return nil, errors.New("TLS did not use X25519MLKEM768")
			}
			return tc, nil
		},
	}, nil
}

// serve accepts on a loopback listener and runs handle on each wrapped
// connection; stop closes it and waits.
func serve(p protocol, handle func(net.Conn)) (addr string, stop func(), err error) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	l := raw
	if p.listener != nil {
		if l, err = p.listener(raw); err != nil {
			raw.Close()
			return "", nil, err
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				resetOnClose(c)
				if p.listener == nil {
					if c, err = p.server(c); err != nil {
						return
					}
				}
				handle(c)
			})
		}
	})
	return raw.Addr().String(), func() { l.Close(); wg.Wait() }, nil
}

// resetOnClose makes the TCP connection under c close with RST
// (SetLinger(0)), so that no TIME_WAIT skews the results.
func resetOnClose(c net.Conn) {
	for {
		switch t := c.(type) {
		case *net.TCPConn:
			t.SetLinger(0)
			return
		case interface{ NetConn() net.Conn }:
			c = t.NetConn()
		default:
			return
		}
	}
}

// bulk sends size bytes from the client to the server, which counts them
// and answers one byte, and returns MB/s (10^6 bytes per second).
func bulk(p protocol, size int64) (float64, error) {
	addr, stop, err := serve(p, func(c net.Conn) {
		if _, err := io.CopyN(io.Discard, c, size); err == nil {
			c.Write([]byte{1})
		}
	})
	if err != nil {
		return 0, err
	}
	defer stop()
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, err
	}
	raw.(*net.TCPConn).SetLinger(0)
	c, err := p.client(raw)
	if err != nil {
		raw.Close()
		return 0, err
	}
	defer c.Close()
	buf := make([]byte, 256<<10)
	rand.Read(buf)
	start := time.Now()
	for left := size; left > 0; left -= int64(len(buf)) {
		if _, err := c.Write(buf[:min(left, int64(len(buf)))]); err != nil {
			return 0, err
		}
	}
	if _, err := io.ReadFull(c, buf[:1]); err != nil {
		return 0, err
	}
	return float64(size) / time.Since(start).Seconds() / 1e6, nil
}

// handshakes runs clients loops of connect, handshake, one-byte echo
// (so the server's side is done too), close with RST, for dur, and
// returns handshakes per second.
func handshakes(p protocol, dur time.Duration, clients int) (float64, error) {
	addr, stop, err := serve(p, func(c net.Conn) {
		b := make([]byte, 1)
		if _, err := io.ReadFull(c, b); err == nil {
			c.Write(b)
		}
	})
	if err != nil {
		return 0, err
	}
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	var n atomic.Int64
	var firstErr atomic.Pointer[error]
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for ctx.Err() == nil {
				if err := oneHandshake(p, addr); err != nil {
					firstErr.CompareAndSwap(nil, &err)
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	if e := firstErr.Load(); e != nil {
		return 0, *e
	}
	return float64(n.Load()) / time.Since(start).Seconds(), nil
}

func oneHandshake(p protocol, addr string) error {
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	raw.(*net.TCPConn).SetLinger(0)
	defer raw.Close()
	c, err := p.client(raw)
	if err != nil {
		return err
	}
	b := []byte{7}
	if _, err := c.Write(b); err != nil {
		return err
	}
	_, err = io.ReadFull(c, b)
	return err
}

// rsaBound is rsa.DecryptOAEP(SHA-256) of a 2048-bit key per second on
// every core: the most seed identity-key handshakes a server could do.
func rsaBound(dur time.Duration) float64 {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		log.Fatal(err)
	}
	ct, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, &key.PublicKey, make([]byte, 32), nil)
	if err != nil {
		log.Fatal(err)
	}
	var n atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(dur)
	start := time.Now()
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if _, err := rsa.DecryptOAEP(sha256.New(), nil, key, ct, nil); err != nil {
					log.Fatal(err)
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds()
}
