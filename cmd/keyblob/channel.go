package main

// keyblob channel serve and keyblob channel connect: the channel package
// (spec/channel.md) over TCP, as netcat and stunnel work. The protocol is
// the package's; this file only chooses keys, listens, limits, logs and
// moves bytes between a channel and stdio, a command or a TCP address.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/channel"
	"github.com/keyblob/keyblob/internal/atomicfile"
	"github.com/spf13/cobra"
	"golang.org/x/time/rate"
)

// Defaults of the server's limits.
const (
	defaultMaxSessions = 256
	// defaultMaxHandshakes bounds connections still in their handshake,
	// apart from sessions: idle or slow connections (each closed after
	// --handshake-timeout) cannot take the slots of real sessions.
	defaultMaxHandshakes = 4096
	defaultHandshakeTTL  = 10 * time.Second
	defaultIdleTimeout   = 5 * time.Minute
	defaultGrace         = 10 * time.Second
	defaultRatePerIP     = 20 // handshakes per second and source address, also the burst
	maxTrackedIPs        = 1 << 16
	dialTimeout          = 10 * time.Second
)

func newChannelCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "channel",
		Short: "Encrypted channels over TCP (serve, connect)",
		Long: `keyblob channel runs the channel protocols of spec/channel.md over TCP:
the v2 three-phase KEM exchange (default) or the seed profile of the
source documents (RSA key transport, AES-128-CBC, truncated HMAC).`,
	}
	c.AddCommand(newChannelServeCmd(e), newChannelConnectCmd(e))
	return c
}

// serveOptions are the flags of channel serve.
type serveOptions struct {
	listen, profile, identity, authorized, seedKey string
	rsaBits                                        int
	echo                                           bool
	execCmd, forward, addrFile                     string
	handshakeTimeout, idleTimeout, grace           time.Duration
	maxSessions, maxHandshakes                     int
	ratePerIP                                      float64
}

func newChannelServeCmd(e *env) *cobra.Command {
	o := serveOptions{handshakeTimeout: defaultHandshakeTTL, idleTimeout: defaultIdleTimeout, grace: defaultGrace}
	c := &cobra.Command{
		Use:   "serve --listen ADDR [--profile seed|v2] [-i IDENTITY] [--authorized FILE] [--seed-key fresh|identity] [--rsa-bits 2048|3072|4096] (--echo | --exec CMD | --forward HOST:PORT)",
		Short: "Accept channel connections and echo, run a command, or forward each",
		Long: `serve listens on ADDR and runs the server end of a channel for every
connection: --echo sends every received message back, --exec runs CMD
(split at spaces, no shell) per connection with the channel as its
standard input and output, --forward proxies to a TCP address.

A v2 server needs -i IDENTITY (a file or a stored identity); with
--authorized FILE it accepts only the clients listed there, one recipient
line, recipient file or contact name per line. A seed server signs its
session keys when its identity can sign; --seed-key identity sends the
identity's own RSA key instead of a fresh one (no forward secrecy).

Once listening it prints "keyblob: listening on ADDR" on stderr (and
writes ADDR to --addr-file), then logs each session there. SIGINT or
SIGTERM stop it: it stops accepting and lets sessions finish for --grace.`,
		Args: argsExactly(0),
		RunE: func(c *cobra.Command, _ []string) error { return e.serveChannel(c, &o) },
	}
	f := c.Flags()
	f.StringVar(&o.listen, "listen", "", "listen on `ADDR` (host:port; port 0 picks one)")
	f.StringVar(&o.profile, "profile", "v2", "channel profile: "+strings.Join(channel.Profiles(), "|"))
	f.StringVarP(&o.identity, "identity", "i", "", "server identity `IDENTITY` (a file or a stored identity)")
	f.StringVar(&o.authorized, "authorized", "", "v2: accept only the clients listed in `FILE`")
	f.StringVar(&o.seedKey, "seed-key", "fresh", "seed: the RSA key sent, fresh (per session) or identity")
	f.IntVar(&o.rsaBits, "rsa-bits", 2048, "seed: size of fresh RSA keys, 2048, 3072 or 4096")
	f.BoolVar(&o.echo, "echo", false, "send every received message back")
	f.StringVar(&o.execCmd, "exec", "", "run `CMD` per connection, the channel as its stdin and stdout")
	f.StringVar(&o.forward, "forward", "", "forward each connection to `HOST:PORT`")
	f.StringVar(&o.addrFile, "addr-file", "", "write the bound address to `FILE` once listening")
	f.IntVar(&o.maxSessions, "max-sessions", defaultMaxSessions, "most concurrent established sessions; a handshake beyond them is closed")
	f.IntVar(&o.maxHandshakes, "max-handshakes", defaultMaxHandshakes, "most connections in their handshake at once; more are closed at once")
	f.Float64Var(&o.ratePerIP, "rate", defaultRatePerIP, "most handshakes per second from one source address (also the burst)")
	durationFlag(c, &o.handshakeTimeout, "handshake-timeout", "close a connection whose handshake takes longer than `DURATION`")
	durationFlag(c, &o.idleTimeout, "idle-timeout", "close a session idle for `DURATION`")
	durationFlag(c, &o.grace, "grace", "on SIGINT/SIGTERM, let sessions finish for `DURATION`")
	return c
}

// serveChannel is channel serve.
func (e *env) serveChannel(c *cobra.Command, o *serveOptions) error {
	cfg, handler, err := e.serverSetup(c, o)
	if err != nil {
		return err
	}
	raw, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	ln, err := channel.NewListener(raw, cfg)
	if err != nil {
		raw.Close()
		return err
	}
	defer ln.Close()
	if err := e.announce(ln.Addr(), o.addrFile); err != nil {
		return err
	}
	s := newServer(e.logger(), handler, o)
	return s.run(ln, divertSignals())
}

// serverSetup checks the command line and builds the server's config and
// session handler.
func (e *env) serverSetup(c *cobra.Command, o *serveOptions) (*channel.Config, func(*channel.Conn) error, error) {
	if err := required(c, "listen"); err != nil {
		return nil, nil, err
	}
	handler, err := sessionHandler(c, o)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := e.serverConfig(c, o)
	return cfg, handler, err
}

// sessionHandler chooses what is done with each session: exactly one of
// --echo, --exec, --forward.
func sessionHandler(c *cobra.Command, o *serveOptions) (func(*channel.Conn) error, error) {
	var given []string
	for _, n := range []string{"echo", "exec", "forward"} {
		if c.Flags().Changed(n) {
			given = append(given, "--"+n)
		}
	}
	if len(given) != 1 {
		return nil, usagef("channel serve needs exactly one of --echo, --exec CMD and --forward HOST:PORT, got %d (see '%s --help')", len(given), c.CommandPath())
	}
	switch {
	case o.echo:
		return echoSession, nil
	case o.execCmd != "":
		argv := strings.Fields(o.execCmd)
		if len(argv) == 0 {
			return nil, usagef("--exec needs a command")
		}
		return func(conn *channel.Conn) error { return execSession(conn, argv) }, nil
	}
	if _, _, err := net.SplitHostPort(o.forward); err != nil {
		return nil, usagef("--forward %q: want HOST:PORT", o.forward)
	}
	return func(conn *channel.Conn) error { return forwardSession(conn, o.forward) }, nil
}

// serverConfig builds the channel config of the server flags.
func (e *env) serverConfig(c *cobra.Command, o *serveOptions) (*channel.Config, error) {
	profile, err := profileFlag(c, o.profile)
	if err != nil {
		return nil, err
	}
	cfg := &channel.Config{Profile: profile, Limits: channel.Limits{HandshakeTimeout: o.handshakeTimeout, IdleTimeout: o.idleTimeout}}
	if err := seedFlags(c, cfg, o); err != nil {
		return nil, err
	}
	if o.maxSessions < 1 || o.maxHandshakes < 1 || o.ratePerIP <= 0 {
		return nil, usagef("--max-sessions, --max-handshakes and --rate must be positive")
	}
	if profile == channel.V2 && o.identity == "" {
		return nil, usagef("a v2 server needs -i IDENTITY, an identity with an exchange key (see '%s --help')", c.CommandPath())
	}
	if o.identity != "" {
		if cfg.Identity, err = e.loadIdentity(o.identity); err != nil {
			return nil, err
		}
	}
	if cfg.SeedKey == channel.SeedKeyIdentity && cfg.Identity.Recipient().ExchangeAlg() != keyblob.ExchangeRSAOAEP {
		return nil, withHint(fmt.Errorf("--seed-key identity sends the identity's RSA exchange key, and %s (%s) has none", o.identity, cfg.Identity.Kind()),
			"'keyblob keygen -t rsa-2048' makes an RSA identity; or use the default --seed-key fresh")
	}
	if o.authorized != "" {
		if cfg.Authorized, err = e.loadAuthorized(o.authorized); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// profileFlag parses --profile.
func profileFlag(c *cobra.Command, name string) (channel.Profile, error) {
	p, err := channel.ParseProfile(name)
	if err != nil {
		return 0, usagef("--profile: %v (see '%s --help')", err, c.CommandPath())
	}
	return p, nil
}

// seedFlags applies --seed-key and --rsa-bits, which only the seed
// profile has, and refuses --authorized there (no client authentication).
func seedFlags(c *cobra.Command, cfg *channel.Config, o *serveOptions) error {
	fl := c.Flags()
	if cfg.Profile != channel.Seed {
		if fl.Changed("seed-key") || fl.Changed("rsa-bits") {
			return usagef("--seed-key and --rsa-bits are for --profile seed")
		}
		return nil
	}
	switch {
	case fl.Changed("authorized"):
		return usagef("--authorized is for --profile v2: the seed profile has no client authentication")
	case o.seedKey == "identity" && fl.Changed("rsa-bits"):
		return usagef("--rsa-bits is for fresh keys; --seed-key identity sends the identity's own key")
	case o.seedKey == "identity" && o.identity == "":
		return usagef("--seed-key identity needs -i IDENTITY with an RSA exchange key")
	case o.seedKey == "identity":
		cfg.SeedKey = channel.SeedKeyIdentity
		return nil
	case o.seedKey != "fresh":
		return usagef("--seed-key %q: want fresh or identity", o.seedKey)
	case o.rsaBits != 2048 && o.rsaBits != 3072 && o.rsaBits != 4096:
		return usagef("--rsa-bits %d: want 2048, 3072 or 4096", o.rsaBits)
	}
	cfg.RSABits = o.rsaBits
	return nil
}

// loadAuthorized reads the --authorized file: one client per line, a
// recipient line, a recipient file or a contact or stored identity name
// (loadRecipient); blank lines and lines starting with # are skipped.
func (e *env) loadAuthorized(name string) (func(*keyblob.Recipient) error, error) {
	clients, err := e.loadRecipientList(name, "authorized clients", func(r *keyblob.Recipient) error {
		if !r.CanExchange() {
			return errors.New("it has no exchange key, which v2 clients authenticate with")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return channel.AuthorizedKeys(clients...), nil
}

// announce prints the bound address and writes it to file, if one is
// named, by rename so that a reader never sees half of it.
func (e *env) announce(addr net.Addr, file string) error {
	fmt.Fprintf(e.stderr, "keyblob: listening on %s\n", addr)
	if file == "" {
		return nil
	}
	return atomicfile.WriteFile(file, []byte(addr.String()+"\n"), modePublic)
}

// logger is the slog logger of the servers: text on stderr. Nothing
// secret is ever logged: addresses, fingerprints, profiles and errors.
func (e *env) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(e.stderr, nil))
}

// divertSignals makes the stop signals (SIGINT, SIGTERM) arrive on the
// returned channel instead of ending the process; a second one, while the
// first is handled, still ends it.
func divertSignals() <-chan os.Signal {
	ch := make(chan os.Signal, 1)
	divertTo.Store(&ch)
	return ch
}

// server accepts sessions within its limits and tracks them for the
// graceful shutdown.
type server struct {
	log     *slog.Logger
	handler func(*channel.Conn) error
	grace   time.Duration
	slots   chan struct{} // established sessions
	pending chan struct{} // connections in their handshake
	limits  *ipLimits

	mu       sync.Mutex
	sessions map[*channel.Conn]struct{}
	wg       sync.WaitGroup
}

func newServer(log *slog.Logger, handler func(*channel.Conn) error, o *serveOptions) *server {
	return &server{
		log: log, handler: handler, grace: o.grace,
		slots:    make(chan struct{}, o.maxSessions),
		pending:  make(chan struct{}, cmp.Or(o.maxHandshakes, defaultMaxHandshakes)),
		limits:   newIPLimits(o.ratePerIP),
		sessions: make(map[*channel.Conn]struct{}),
	}
}

// run accepts until a signal arrives on stop, then drains.
func (s *server) run(ln net.Listener, stop <-chan os.Signal) error {
	accepted := make(chan error, 1)
	go func() { accepted <- s.acceptLoop(ln) }()
	select {
	case err := <-accepted:
		s.shutdown()
		return err
	case sig := <-stop:
		s.log.Info("shutting down", "signal", sig.String(), "grace", s.grace.String())
		ln.Close()
		<-accepted
		s.shutdown()
		return nil
	}
}

// acceptLoop accepts connections until the listener is closed.
func (s *server) acceptLoop(ln net.Listener) error {
	for {
		nc, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			time.Sleep(10 * time.Millisecond) // e.g. out of file descriptors
			continue
		}
		if err != nil {
			return err
		}
		s.admit(nc.(*channel.Conn))
	}
}

// admit starts the handshake of conn, or closes it at once when its
// source address is over the rate or too many handshakes are under way.
// A handshake holds a pending slot only; a session slot is taken once it
// has succeeded (session), so connections that never finish a handshake
// cannot lock real clients out.
func (s *server) admit(conn *channel.Conn) {
	remote := conn.RemoteAddr().String()
	if !s.limits.allow(conn.RemoteAddr()) {
		s.log.Warn("refused: handshake rate limit", "remote", remote)
		conn.Close()
		return
	}
	select {
	case s.pending <- struct{}{}:
	default:
		s.log.Warn("refused: too many handshakes in progress", "remote", remote, "max", cap(s.pending))
		conn.Close()
		return
	}
	s.track(conn, true)
	s.wg.Go(func() {
		defer s.track(conn, false)
		s.session(conn)
	})
}

func (s *server) track(conn *channel.Conn, add bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		s.sessions[conn] = struct{}{}
	} else {
		delete(s.sessions, conn)
	}
}

// session runs the handshake and the handler of one connection.
func (s *server) session(conn *channel.Conn) {
	defer conn.Close()
	log := s.log.With("remote", conn.RemoteAddr().String())
	start := time.Now()
	err := conn.Handshake()
	<-s.pending
	if err != nil {
		log.Warn("handshake failed", "err", err)
		return
	}
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	default:
		log.Warn("refused: too many sessions", "max", cap(s.slots))
		return
	}
	log = log.With(sessionAttrs(conn.ConnectionState())...)
	log.Info("session open")
	err = s.handler(conn)
	if err != nil {
		log.Warn("session failed", "err", err, "duration", time.Since(start).Round(time.Millisecond).String())
		return
	}
	log.Info("session closed", "duration", time.Since(start).Round(time.Millisecond).String())
}

// sessionAttrs are the log attributes of an established session.
func sessionAttrs(st channel.ConnectionState) []any {
	attrs := []any{"profile", st.Profile.String()}
	if st.Peer != nil {
		attrs = append(attrs, "client", st.Peer.Fingerprint().String())
	}
	if st.SeedKeyBits != 0 {
		attrs = append(attrs, "rsa_bits", st.SeedKeyBits)
	}
	return attrs
}

// shutdown waits for the sessions for the grace period, then closes the
// ones left.
func (s *server) shutdown() {
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-time.After(s.grace):
	}
	s.mu.Lock()
	n := len(s.sessions)
	for conn := range s.sessions {
		conn.Close()
	}
	s.mu.Unlock()
	s.log.Warn("grace period over: closed the remaining sessions", "sessions", n)
	<-done
}

// ipLimits is the per-source-address handshake rate limit.
type ipLimits struct {
	mu     sync.Mutex
	perSec rate.Limit
	burst  int
	maxIPs int // addresses tracked at most
	ips    map[string]*rate.Limiter
}

func newIPLimits(perSec float64) *ipLimits {
	return &ipLimits{perSec: rate.Limit(perSec), burst: max(1, int(perSec)), maxIPs: maxTrackedIPs, ips: make(map[string]*rate.Limiter)}
}

// allow reports whether a handshake from addr is within its rate. The
// table is bounded: when full, addresses back at a full burst are
// forgotten, and if none is, new addresses are refused.
func (l *ipLimits) allow(addr net.Addr) bool {
	ip := addr.String()
	if ta, ok := addr.(*net.TCPAddr); ok {
		ip = ta.IP.String()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.ips[ip]
	if !ok {
		if len(l.ips) >= l.maxIPs && !l.sweep() {
			return false
		}
		lim = rate.NewLimiter(l.perSec, l.burst)
		l.ips[ip] = lim
	}
	return lim.Allow()
}

// sweep forgets the addresses whose limiter is full again, reporting
// whether any was.
func (l *ipLimits) sweep() bool {
	n := len(l.ips)
	for ip, lim := range l.ips {
		if lim.Tokens() >= float64(l.burst) {
			delete(l.ips, ip)
		}
	}
	return len(l.ips) < n
}

// echoSession sends every message back, then closes.
func echoSession(conn *channel.Conn) error {
	if _, err := io.Copy(conn, conn); err != nil {
		return err
	}
	return conn.CloseWrite()
}

// execSession runs argv with the channel as its standard input and
// output; its standard error is the server's.
func execSession(conn *channel.Conn, argv []string) error {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	spliceErr := splice(conn, &pipeEnd{r: stdout, w: stdin})
	waitErr := cmd.Wait()
	return errors.Join(spliceErr, waitErr)
}

// forwardSession proxies the channel to a TCP address.
func forwardSession(conn *channel.Conn, addr string) error {
	target, err := net.DialTimeout("tcp", addr, dialTimeout)
	if err != nil {
		return err
	}
	return splice(conn, target.(*net.TCPConn))
}

// halfCloser is a stream whose writing side can end alone.
type halfCloser interface {
	io.ReadWriteCloser
	CloseWrite() error
}

// splice copies a to b and b to a; each direction's end of data ends the
// other side's writing. An error in either direction closes both; both
// are closed on return.
func splice(a, b halfCloser) error {
	errs := make(chan error, 2)
	pump := func(dst, src halfCloser) {
		_, err := io.Copy(dst, src)
		if err == nil {
			err = dst.CloseWrite()
		}
		if err != nil {
			a.Close()
			b.Close()
		}
		errs <- err
	}
	go pump(b, a)
	go pump(a, b)
	err := <-errs
	if err2 := <-errs; err == nil {
		err = err2
	}
	a.Close()
	b.Close()
	return err
}

// pipeEnd joins a command's output (r) and input (w) into one stream.
type pipeEnd struct {
	r io.ReadCloser
	w io.WriteCloser
}

func (p *pipeEnd) Read(b []byte) (int, error)  { return p.r.Read(b) }
func (p *pipeEnd) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p *pipeEnd) CloseWrite() error           { return p.w.Close() }

func (p *pipeEnd) Close() error {
	p.w.Close()
	return p.r.Close()
}

// connectOptions are the flags of channel connect.
type connectOptions struct {
	profile, server, identity, forwardLocal, addrFile string
	insecure                                          bool
}

func newChannelConnectCmd(e *env) *cobra.Command {
	var o connectOptions
	c := &cobra.Command{
		Use:   "connect ADDR [--profile seed|v2] [--server RECIPIENT | --insecure] [-i IDENTITY] [--forward-local ADDR]",
		Short: "Connect to a channel server: stdin to it, its messages to stdout",
		Long: `connect runs the client end of a channel to ADDR. Standard input goes
to the server, and what the server sends to standard output; at the end of
standard input the client closes its sending side, and it exits 0 once the
server has closed the channel properly (exit 1 if the connection was cut).

--server RECIPIENT (a recipient line, a file or a contact name) is the
server's key: v2 encapsulates to its exchange key, seed verifies its
signature. Without --server the client refuses unless --insecure, which
authenticates no server at all. -i IDENTITY authenticates the client (v2).

With --forward-local ADDR it listens there instead and forwards every local
connection over a channel of its own, as stunnel does.`,
		Args: argsExactly(1),
		RunE: func(c *cobra.Command, args []string) error { return e.connectChannel(c, args[0], &o) },
	}
	f := c.Flags()
	f.StringVar(&o.profile, "profile", "v2", "channel profile: "+strings.Join(channel.Profiles(), "|"))
	f.StringVar(&o.server, "server", "", "the server's `RECIPIENT` (a recipient line, a file or a contact name)")
	f.BoolVar(&o.insecure, "insecure", false, "connect without authenticating the server: anyone in between can read and change everything")
	f.StringVarP(&o.identity, "identity", "i", "", "v2: authenticate as `IDENTITY` (a file or a stored identity)")
	f.StringVar(&o.forwardLocal, "forward-local", "", "listen on `ADDR` and forward each connection over its own channel")
	f.StringVar(&o.addrFile, "addr-file", "", "with --forward-local: write the bound address to `FILE`")
	requireWith(c, "addr-file", "forward-local")
	return c
}

// connectChannel is channel connect.
func (e *env) connectChannel(c *cobra.Command, addr string, o *connectOptions) error {
	cfg, err := e.clientConfig(c, o)
	if err != nil {
		return err
	}
	if o.forwardLocal != "" {
		return e.forwardLocal(cfg, addr, o)
	}
	if err := e.claimStdin("channel"); err != nil {
		return err
	}
	conn, err := channel.Dial("tcp", addr, cfg)
	if err != nil {
		return connectError(addr, err)
	}
	defer conn.Close()
	return e.stdio(conn)
}

// clientConfig builds the client's channel config of the flags.
func (e *env) clientConfig(c *cobra.Command, o *connectOptions) (*channel.Config, error) {
	profile, err := profileFlag(c, o.profile)
	if err != nil {
		return nil, err
	}
	switch {
	case o.server == "" && !o.insecure:
		return nil, usagef("channel connect needs --server RECIPIENT, the server's key; --insecure connects to whoever answers, unauthenticated (see '%s --help')", c.CommandPath())
	case o.server != "" && o.insecure:
		return nil, usagef("--server and --insecure are exclusive")
	case profile == channel.Seed && o.identity != "":
		return nil, usagef("-i is for --profile v2: the seed profile has no client authentication")
	}
	cfg := &channel.Config{Profile: profile, Insecure: o.insecure}
	if o.server != "" {
		if cfg.Peer, err = e.loadRecipient(o.server); err != nil {
			return nil, err
		}
	}
	if o.identity != "" {
		if cfg.Identity, err = e.loadIdentity(o.identity); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// connectError says which server a failed connection was to.
func connectError(addr string, err error) error {
	if errors.Is(err, channel.ErrAuth) {
		err = fmt.Errorf("the server did not authenticate as --server: %w", err)
	}
	return fmt.Errorf("channel to %s: %w", addr, err)
}

// stdio copies stdin to the channel (then closes its sending side) and
// the channel to stdout until the server's close record. Input the server
// did not take (it closed first) is an error.
func (e *env) stdio(conn *channel.Conn) error {
	sent := make(chan error, 1)
	go func() {
		_, err := io.Copy(conn, e.stdin)
		if err == nil {
			err = conn.CloseWrite()
		}
		sent <- err
	}()
	if _, err := io.Copy(e.stdout, conn); err != nil {
		return fmt.Errorf("channel: %w", err)
	}
	select {
	case err := <-sent:
		if err != nil {
			return fmt.Errorf("the server closed the channel before all input was sent: %w", err)
		}
	default: // still reading stdin: the server ended the session
	}
	return nil
}

// forwardLocal listens on o.forwardLocal and forwards each connection
// over its own channel to addr, until SIGINT or SIGTERM.
func (e *env) forwardLocal(cfg *channel.Config, addr string, o *connectOptions) error {
	ln, err := net.Listen("tcp", o.forwardLocal)
	if err != nil {
		return err
	}
	defer ln.Close()
	if err := e.announce(ln.Addr(), o.addrFile); err != nil {
		return err
	}
	log := e.logger()
	stop := divertSignals()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	go func() {
		sig := <-stop
		log.Info("shutting down", "signal", sig.String())
		ln.Close()
	}()
	for {
		local, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			break
		}
		if err != nil {
			return err
		}
		wg.Go(func() { forwardOne(ctx, log, local.(*net.TCPConn), addr, cfg) })
	}
	wg.Wait()
	return nil
}

// forwardOne forwards one local connection over a new channel.
func forwardOne(ctx context.Context, log *slog.Logger, local *net.TCPConn, addr string, cfg *channel.Config) {
	defer local.Close()
	log = log.With("local", local.RemoteAddr().String(), "server", addr)
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	conn, err := channel.DialContext(dctx, "tcp", addr, cfg)
	if err != nil {
		log.Warn("channel failed", "err", err)
		return
	}
	log.Info("forwarding", sessionAttrs(conn.ConnectionState())...)
	if err := splice(conn, local); err != nil {
		log.Warn("forwarding failed", "err", err)
		return
	}
	log.Info("forwarding closed")
}
