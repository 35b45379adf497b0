package main

// child.go holds the two processes of the server CPU rows: channelbench
// serve (one server, alone in its process) and channelbench load (the
// handshaking clients). The parent (pinned.go) starts them, pinned to
// different CPUs, and talks to them in JSON lines.

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/channel"
)

// A childProto is one row of the server CPU section: how the serve
// process makes its server (and the public key material a client needs),
// and how the load process makes its clients from that material.
type childProto struct {
	name, label string
	// quiet is how long the serve process must stay idle before a stat
	// (see waitIdle): longer than the gap between two key generations of
	// a pool refilled at a bounded rate.
	quiet  time.Duration
	server func() (childServer, error)
	client func(pub []byte) (func(net.Conn) (net.Conn, error), error)
}

// A childServer is a server before it runs: start serves on raw,
// counting completed handshakes (one-byte echoes) in h, until stop.
type childServer struct {
	pub   []byte
	start func(raw net.Listener, h *hits) (stop func(), err error)
}

// seedPoolRow names the row that is also the seed fresh-key rate.
const seedPoolRow = "seed-pool"

// childProtos are the server CPU rows, in report order.
var childProtos = []childProto{
	{"tls13", "TLS 1.3", idleWindow, tlsChildServer, tlsChildClient},
	{"v2", "v2", idleWindow, v2ChildServer, channelChildClient(channel.V2, false)},
	{"v2-mutual", "v2 mutual", idleWindow, v2ChildServer, channelChildClient(channel.V2, true)},
	{"seed-identity", "seed identity key", idleWindow, seedIdentityChildServer, channelChildClient(channel.Seed, false)},
	{seedPoolRow, "seed fresh key, pool (channel.Server)", 3 * time.Second, seedPoolChildServer, channelChildClient(channel.Seed, false)},
}

func childProtoNamed(name string) (childProto, error) {
	for _, p := range childProtos {
		if p.name == name {
			return p, nil
		}
	}
	return childProto{}, fmt.Errorf("unknown protocol %q", name)
}

// hits counts what a serve process's server did.
type hits struct {
	handshakes atomic.Int64
	warnings   warnCounter
}

// countingEcho is echoOnce, counting the successes in h.
func countingEcho(h *hits) func(net.Conn) {
	return func(c net.Conn) {
		if echoOnce(c) {
			h.handshakes.Add(1)
		}
	}
}

// plainChildServer serves p in a plain accept loop (serveOn), as the
// in-process rows do.
func plainChildServer(pub []byte, p protocol) childServer {
	return childServer{pub: pub, start: func(raw net.Listener, h *hits) (func(), error) {
		return serveOn(raw, p, countingEcho(h))
	}}
}

func tlsChildServer() (childServer, error) {
	scfg, der, err := tlsServerConfig()
	if err != nil {
		return childServer{}, err
	}
	return plainChildServer(der, protocol{server: func(c net.Conn) (net.Conn, error) { return tls.Server(c, scfg), nil }}), nil
}

func tlsChildClient(der []byte) (func(net.Conn) (net.Conn, error), error) {
	ccfg, err := tlsClientConfig(der)
	if err != nil {
		return nil, err
	}
	return tlsClient(ccfg), nil
}

// channelChildServer serves cfg, whose identity is id, in a plain accept
// loop, behind a channel.Listener if listener is set.
func channelChildServer(id *keyblob.Identity, cfg *channel.Config, listener bool) (childServer, error) {
	pub, err := id.Recipient().MarshalPEM()
	if err != nil {
		return childServer{}, err
	}
	p := channelProto("", cfg, nil)
	if listener {
		p = withListener(p, cfg)
	}
	return plainChildServer(pub, p), nil
}

func v2ChildServer() (childServer, error) {
	id, err := keyblob.GenerateIdentity(keyblob.KindHybrid)
	if err != nil {
		return childServer{}, err
	}
	return channelChildServer(id, &channel.Config{Identity: id}, false)
}

func seedIdentityChildServer() (childServer, error) {
	id, err := keyblob.GenerateIdentity(keyblob.KindRSA2048)
	if err != nil {
		return childServer{}, err
	}
	// A Listener makes the first epoch key before the serve process is
	// idle and ready; the epoch's replay cache is the channel's own.
	return channelChildServer(id, &channel.Config{Profile: channel.Seed, Identity: id, SeedKey: channel.SeedKeyIdentity}, true)
}

// seedPoolChildServer is a channel.Server with a seed fresh-key config:
// Serve makes its Listener, which starts the process's key pool (the
// channel's defaults: size, refill rate, wait for a key). The per-source
// rate is lifted, as every client comes from 127.0.0.1; every other limit
// is the Server's default.
func seedPoolChildServer() (childServer, error) {
	id, err := keyblob.GenerateIdentity(keyblob.KindRSA2048)
	if err != nil {
		return childServer{}, err
	}
	pub, err := id.Recipient().MarshalPEM()
	if err != nil {
		return childServer{}, err
	}
	cfg := &channel.Config{Profile: channel.Seed, Identity: id}
	return childServer{pub: pub, start: func(raw net.Listener, h *hits) (func(), error) {
		srv := &channel.Server{
			Config: cfg, HandshakeRate: 1e6, Logger: slog.New(&h.warnings),
			Handler: func(c *channel.Conn) error {
				resetOnClose(c)
				countingEcho(h)(c)
				return nil
			},
		}
		done := make(chan struct{})
		go func() { defer close(done); srv.Serve(raw) }()
		return func() { srv.Close(); <-done }, nil
	}}, nil
}

// channelChildClient makes clients of profile pinned to the server's
// recipient; mutual gives each load process a new hybrid identity.
func channelChildClient(profile channel.Profile, mutual bool) func([]byte) (func(net.Conn) (net.Conn, error), error) {
	return func(pub []byte) (func(net.Conn) (net.Conn, error), error) {
		peer, err := keyblob.ParseRecipient(pub)
		if err != nil {
			return nil, err
		}
		cfg := &channel.Config{Profile: profile, Peer: peer}
		if mutual {
			if cfg.Identity, err = keyblob.GenerateIdentity(keyblob.KindHybrid); err != nil {
				return nil, err
			}
		}
		return channelProto("", nil, cfg).client, nil
	}
}

// A warnCounter is a slog.Handler counting the Server's warnings
// (refusals, failed handshakes) by message. It is safe for concurrent
// use.
type warnCounter struct {
	mu sync.Mutex
	n  map[string]int64
}

// Enabled reports whether l is a warning or worse.
func (w *warnCounter) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

// Handle counts r by its message.
func (w *warnCounter) Handle(_ context.Context, r slog.Record) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n == nil {
		w.n = map[string]int64{}
	}
	w.n[r.Message]++
	return nil
}

// WithAttrs returns w: attributes are not counted.
func (w *warnCounter) WithAttrs([]slog.Attr) slog.Handler { return w }

// WithGroup returns w.
func (w *warnCounter) WithGroup(string) slog.Handler { return w }

func (w *warnCounter) snapshot() map[string]int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := make(map[string]int64, len(w.n))
	for k, v := range w.n {
		m[k] = v
	}
	return m
}

// serveReady is the serve process's first line: where it listens and
// the public key material its clients need.
type serveReady struct {
	Addr string `json:"addr"`
	Peer []byte `json:"peer"`
}

// serveStat is the serve process's answer to "stat": its CPU time and
// counts so far, once it was idle (or idleMax passed: Idle false).
type serveStat struct {
	CPU        time.Duration    `json:"cpu_ns"`
	Handshakes int64            `json:"handshakes"`
	Idle       bool             `json:"idle"`
	Warnings   map[string]int64 `json:"warnings,omitempty"`
}

// serveMain is channelbench serve -proto NAME: it prints a serveReady
// line once idle, then answers each "stat" line on stdin with a
// serveStat line, and stops at the end of stdin.
func serveMain(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	name := fs.String("proto", "", "the row: "+childNames())
	if err := fs.Parse(args); err != nil {
		return err
	}
	p, err := childProtoNamed(*name)
	if err != nil {
		return err
	}
	cs, err := p.server()
	if err != nil {
		return err
	}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	var h hits
	stop, err := cs.start(raw, &h)
	if err != nil {
		return err
	}
	defer stop()
	waitIdle(p.quiet)
	out := json.NewEncoder(os.Stdout)
	if err := out.Encode(serveReady{Addr: raw.Addr().String(), Peer: cs.pub}); err != nil {
		return err
	}
	return answerStats(out, &h, p.quiet)
}

func answerStats(out *json.Encoder, h *hits, quiet time.Duration) error {
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if in.Text() != "stat" {
			return fmt.Errorf("unknown command %q", in.Text())
		}
		idle := waitIdle(quiet)
		st := serveStat{CPU: cpuTime(), Handshakes: h.handshakes.Load(), Idle: idle, Warnings: h.warnings.snapshot()}
		if err := out.Encode(st); err != nil {
			return err
		}
	}
	return in.Err()
}

func childNames() string {
	s := ""
	for i, p := range childProtos {
		if i > 0 {
			s += ", "
		}
		s += p.name
	}
	return s
}

// Idleness: the process used less than idleCPU of CPU in each
// idleWindow for a whole quiet period.
const (
	idleWindow = 200 * time.Millisecond
	idleCPU    = 10 * time.Millisecond
	idleMax    = 120 * time.Second
)

// waitIdle waits until this process has been idle for quiet (a seed key
// pool is full, the last connections are closed), at most idleMax, and
// reports whether it was.
func waitIdle(quiet time.Duration) bool {
	var still time.Duration
	for give := time.Now().Add(idleMax); time.Now().Before(give); {
		before := cpuTime()
		time.Sleep(idleWindow)
		if cpuTime()-before >= idleCPU {
			still = 0
			continue
		}
		if still += idleWindow; still >= quiet {
			return true
		}
	}
	return false
}

// loadMain is channelbench load: it runs the clients of load against a
// serve process and prints their tally, with this process's CPU time, as
// one JSON line.
func loadMain(args []string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	name := fs.String("proto", "", "the row: "+childNames())
	addr := fs.String("addr", "", "the serve process's address")
	peer := fs.String("peer", "", "the serve process's public key material, base64")
	var o options
	fs.DurationVar(&o.dur, "duration", 3*time.Second, "length of the run")
	fs.IntVar(&o.clients, "clients", 32, "concurrent handshaking clients")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Second, "bound of one attempt")
	if err := fs.Parse(args); err != nil {
		return err
	}
	p, err := childProtoNamed(*name)
	if err != nil {
		return err
	}
	pub, err := base64.StdEncoding.DecodeString(*peer)
	if err != nil {
		return fmt.Errorf("-peer: %w", err)
	}
	client, err := p.client(pub)
	if err != nil {
		return err
	}
	start := cpuTime()
	t := load(client, *addr, o)
	t.CPU = cpuTime() - start
	return json.NewEncoder(os.Stdout).Encode(t)
}
