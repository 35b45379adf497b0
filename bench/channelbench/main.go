// Command channelbench measures keyblob channels against crypto/tls 1.3
// and plain TCP over loopback, side by side in one run, and prints a
// Markdown table with the ratios and targets of issues #10 and #18. See
// bench/README.md; bench/channel-vs-tls.sh runs it.
//
// The server CPU rows run the server as a process of its own
// (channelbench serve) and the clients as another (channelbench load),
// pinned to different CPUs; see pinned.go.
package main

import (
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
	log.SetFlags(0)
	log.SetPrefix("channelbench: ")
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "serve":
			if err := serveMain(os.Args[2:]); err != nil {
				log.Fatalf("serve: %v", err)
			}
			return
		case "load":
			if err := loadMain(os.Args[2:]); err != nil {
				log.Fatalf("load: %v", err)
			}
			return
		}
	}
	var o options
	flag.Int64Var(&o.size, "size", 256<<20, "bytes per bulk transfer")
	flag.DurationVar(&o.dur, "duration", 3*time.Second, "length of each handshake measurement")
	flag.IntVar(&o.clients, "clients", 32, "concurrent handshaking clients")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Second, "a handshaking client's bound on one attempt (connect, handshake, echo)")
	flag.Parse()
	if o.clients < 1 || o.dur <= 0 || o.timeout <= 0 {
		log.Fatal("-clients, -duration and -timeout must be positive")
	}
	if err := run(o); err != nil {
		log.Fatal(err)
	}
}

// options are the flags of a whole run.
type options struct {
	size         int64
	dur, timeout time.Duration
	clients      int
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
	v2, v2Mutual, v2Cert, seedIdentity, seedPool, tls13, tcp protocol
	closers                                                  []func()
}

func run(o options) error {
	s, err := newSetup()
	if err != nil {
		return err
	}
	defer s.close()
	r := &results{opt: o}
	log.Printf("bulk: %d MiB per protocol", o.size>>20)
	for _, p := range []protocol{s.tcp, s.tls13, s.v2, s.seedIdentity} {
		mbs, err := bulk(p, o.size)
		if err != nil {
			return fmt.Errorf("bulk %s: %w", p.name, err)
		}
		r.bulk = append(r.bulk, row{name: p.name, value: mbs})
	}
	log.Printf("handshakes: %d clients, %v each", o.clients, o.dur)
	for _, p := range []protocol{s.tls13, s.v2, s.v2Mutual, s.v2Cert, s.seedIdentity, s.seedPool} {
		t, err := handshakes(p, o)
		if err != nil {
			return fmt.Errorf("handshakes %s: %w", p.name, err)
		}
		t.logFailures(p.name)
		r.hs = append(r.hs, row{name: p.name, value: t.perSecond(o.dur), t: t})
	}
	r.rsaBound = rsaBound(o.dur)
	if r.pinned, err = pinnedRows(o); err != nil {
		return err
	}
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
	if s.v2Cert, err = v2CertProto(hybrid); err != nil {
		return nil, err
	}
	seedClient := &channel.Config{Profile: channel.Seed, Peer: rsaID.Recipient()}
	// The seed rows run behind a Listener, which makes the first epoch key
	// (identity) or starts the process's key pool (fresh) before the row.
	seedIdentity := &channel.Config{Profile: channel.Seed, Identity: rsaID, SeedKey: channel.SeedKeyIdentity}
	s.seedIdentity = withListener(channelProto("seed identity key", seedIdentity, seedClient), seedIdentity)
	seedFresh := &channel.Config{Profile: channel.Seed, Identity: rsaID}
	s.seedPool = withListener(channelProto("seed fresh key, pool", seedFresh, seedClient), seedFresh)
	s.tls13, err = tlsProto()
	return s, err
}

func same(c net.Conn) (net.Conn, error) { return c, nil }

// withListener makes p's server a channel.Listener with the server config
// cfg.
func withListener(p protocol, cfg *channel.Config) protocol {
	p.listener = func(l net.Listener) (net.Listener, error) { return channel.NewListener(l, cfg) }
	return p
}

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
	scfg, der, err := tlsServerConfig()
	if err != nil {
		return protocol{}, err
	}
	ccfg, err := tlsClientConfig(der)
	if err != nil {
		return protocol{}, err
	}
	return protocol{
		name:   "TLS 1.3",
		server: func(c net.Conn) (net.Conn, error) { return tls.Server(c, scfg), nil },
		client: tlsClient(ccfg),
	}, nil
}

// tlsCurves are the key exchanges of the TLS rows: X25519MLKEM768 only.
var tlsCurves = []tls.CurveID{tls.X25519MLKEM768}

// tlsServerConfig returns a TLS 1.3 server config with a new self-signed
// Ed25519 certificate for the name "bench", and the certificate's DER.
func tlsServerConfig() (*tls.Config, []byte, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bench"},
		DNSNames: []string{"bench"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS13, CurvePreferences: tlsCurves, SessionTicketsDisabled: true,
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: priv, Leaf: cert}},
	}, der, nil
}

// tlsClientConfig returns a TLS 1.3 client config trusting only the
// certificate der, for the name "bench".
func tlsClientConfig(der []byte) (*tls.Config, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	return &tls.Config{MinVersion: tls.VersionTLS13, CurvePreferences: tlsCurves, RootCAs: roots, ServerName: "bench"}, nil
}

// tlsClient runs a client handshake with ccfg and checks that it used
// X25519MLKEM768.
func tlsClient(ccfg *tls.Config) func(net.Conn) (net.Conn, error) {
	return func(c net.Conn) (net.Conn, error) {
		tc := tls.Client(c, ccfg)
		if err := tc.Handshake(); err != nil {
			return nil, err
		}
		if tc.ConnectionState().CurveID != tls.X25519MLKEM768 {
			return nil, errors.New("TLS did not use X25519MLKEM768")
		}
		return tc, nil
	}
}

// serve accepts on a new loopback listener and runs handle on each
// wrapped connection; stop closes it and waits.
func serve(p protocol, handle func(net.Conn)) (addr string, stop func(), err error) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	stop, err = serveOn(raw, p, handle)
	if err != nil {
		return "", nil, err
	}
	return raw.Addr().String(), stop, nil
}

// serveOn accepts on raw (closing it on error) and runs handle on each
// wrapped connection, closed with RST after handle; stop closes raw and
// waits for the handlers.
func serveOn(raw net.Listener, p protocol, handle func(net.Conn)) (stop func(), err error) {
	l := raw
	if p.listener != nil {
		if l, err = p.listener(raw); err != nil {
			raw.Close()
			return nil, err
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
	return func() { l.Close(); wg.Wait() }, nil
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

// handshakes runs o.clients loops of connect, handshake, one-byte echo
// (so the server's side is done too), close with RST, for o.dur, against
// a server of p in this process (see load), and returns the tally.
func handshakes(p protocol, o options) (tally, error) {
	addr, stop, err := serve(p, func(c net.Conn) { echoOnce(c) })
	if err != nil {
		return tally{}, err
	}
	defer stop()
	return load(p.client, addr, o), nil
}

// echoOnce reads one byte from c and writes it back, reporting whether
// both worked.
func echoOnce(c net.Conn) bool {
	b := make([]byte, 1)
	if _, err := io.ReadFull(c, b); err != nil {
		return false
	}
	_, err := c.Write(b)
	return err == nil
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
