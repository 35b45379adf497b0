package main

// keyblob channel serve and keyblob channel connect: the channel package
// (spec/channel.md) over TCP, as netcat and stunnel work. The protocol is
// the package's; this file only chooses keys, listens, limits, logs and
// moves bytes between a channel and stdio, a command or a TCP address.

import (
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
)

// Defaults of the servers' flags beyond channel.Server's.
const (
	defaultGrace = 10 * time.Second
	dialTimeout  = 10 * time.Second
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

// serveFlags are the flags of channel serve.
type serveFlags struct {
	listen, identity, authorized         string
	profile                              profileValue
	seedKey                              seedKeyValue
	rsaBits                              rsaBitsValue
	echo                                 bool
	execCmd, forward, addrFile           string
	handshakeTimeout, idleTimeout, grace time.Duration
	maxSessions, maxHandshakes           int
	ratePerIP                            float64
}

func newChannelServeCmd(e *env) *cobra.Command {
	f := serveFlags{handshakeTimeout: channel.DefaultHandshakeTimeout, idleTimeout: channel.DefaultIdleTimeout, grace: defaultGrace, rsaBits: 2048, profile: profileValue{channel.V2}}
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
		RunE: func(c *cobra.Command, _ []string) error { return e.serve(c, &f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.listen, "listen", "", "listen on `ADDR` (host:port; port 0 picks one)")
	profileFlag(c, &f.profile)
	fl.StringVarP(&f.identity, "identity", "i", "", "server identity `IDENTITY` (a file or a stored identity)")
	fl.StringVar(&f.authorized, "authorized", "", "v2: accept only the clients listed in `FILE`")
	wordsFlag(c, &f.seedKey, "seed-key", "seed: the RSA key sent, fresh (per session) or identity")
	wordsFlag(c, &f.rsaBits, "rsa-bits", "seed: size of fresh RSA keys, 2048, 3072 or 4096")
	fl.BoolVar(&f.echo, "echo", false, "send every received message back")
	fl.StringVar(&f.execCmd, "exec", "", "run `CMD` per connection, the channel as its stdin and stdout")
	fl.StringVar(&f.forward, "forward", "", "forward each connection to `HOST:PORT`")
	fl.StringVar(&f.addrFile, "addr-file", "", "write the bound address to `FILE` once listening")
	fl.IntVar(&f.maxSessions, "max-sessions", channel.DefaultMaxSessions, "most concurrent established sessions; a handshake beyond them is closed")
	fl.IntVar(&f.maxHandshakes, "max-handshakes", channel.DefaultMaxHandshakes, "most connections in their handshake at once; more are closed at once")
	fl.Float64Var(&f.ratePerIP, "rate", channel.DefaultHandshakeRate, "most handshakes per second from one source address (also the burst)")
	durationFlag(c, &f.handshakeTimeout, "handshake-timeout", "close a connection whose handshake takes longer than `DURATION`")
	durationFlag(c, &f.idleTimeout, "idle-timeout", "close a session idle for `DURATION`")
	durationFlag(c, &f.grace, "grace", "on SIGINT/SIGTERM, let sessions finish for `DURATION`")
	return c
}

// serve is channel serve.
func (e *env) serve(c *cobra.Command, f *serveFlags) error {
	srv, err := e.serverSetup(c, f)
	if err != nil {
		return err
	}
	raw, err := net.Listen("tcp", f.listen)
	if err != nil {
		return err
	}
	ln, err := channel.NewListener(raw, srv.Config)
	if err != nil {
		raw.Close()
		return err
	}
	if err := e.announce(ln.Addr(), f.addrFile); err != nil {
		ln.Close()
		return err
	}
	ctx, cancel := stopContext(c.Context())
	defer cancel()
	return serveUntil(ctx, srv, ln, f.grace)
}

// serveUntil runs srv on ln until ln fails or ctx ends; then it lets the
// sessions finish for grace.
func serveUntil(ctx context.Context, srv *channel.Server, ln net.Listener, grace time.Duration) error {
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	var err error
	select {
	case err = <-served:
	case <-ctx.Done():
		if sig, ok := signalOf(ctx); ok {
			srv.Logger.Info("shutting down", "signal", sig.String(), "grace", grace.String())
		}
	}
	gctx, gcancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer gcancel()
	srv.Shutdown(gctx)
	if errors.Is(err, channel.ErrServerClosed) {
		err = nil
	}
	if err == nil {
		err = <-served
	}
	if errors.Is(err, channel.ErrServerClosed) {
		return nil
	}
	return err
}

// serverSetup checks the command line and builds the server of its
// flags.
func (e *env) serverSetup(c *cobra.Command, f *serveFlags) (*channel.Server, error) {
	if err := required(c, "listen"); err != nil {
		return nil, err
	}
	handler, err := sessionHandler(c, f)
	if err != nil {
		return nil, err
	}
	cfg, err := e.serverConfig(c, f)
	if err != nil {
		return nil, err
	}
	if f.maxSessions < 1 || f.maxHandshakes < 1 || f.ratePerIP <= 0 {
		return nil, usagef("--max-sessions, --max-handshakes and --rate must be positive")
	}
	return &channel.Server{
		Config: cfg, Handler: handler, Logger: e.logger(),
		MaxSessions: f.maxSessions, MaxHandshakes: f.maxHandshakes, HandshakeRate: f.ratePerIP,
	}, nil
}

// sessionHandler chooses what is done with each session: exactly one of
// --echo, --exec, --forward.
func sessionHandler(c *cobra.Command, o *serveFlags) (channel.Handler, error) {
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
func (e *env) serverConfig(c *cobra.Command, f *serveFlags) (*channel.Config, error) {
	cfg := &channel.Config{Profile: f.profile.p, Limits: channel.Limits{HandshakeTimeout: f.handshakeTimeout, IdleTimeout: f.idleTimeout}}
	if err := seedFlags(c, cfg, f); err != nil {
		return nil, err
	}
	if cfg.Profile == channel.V2 && f.identity == "" {
		return nil, usagef("a v2 server needs -i IDENTITY, an identity with an exchange key (see '%s --help')", c.CommandPath())
	}
	var err error
	if f.identity != "" {
		if cfg.Identity, err = e.loadIdentity(f.identity); err != nil {
			return nil, err
		}
	}
	if cfg.SeedKey == channel.SeedKeyIdentity && cfg.Identity.Recipient().ExchangeAlg() != keyblob.ExchangeRSAOAEP {
		return nil, withHint(fmt.Errorf("--seed-key identity sends the identity's RSA exchange key, and %s (%s) has none", f.identity, cfg.Identity.Kind()),
			"'keyblob keygen -t rsa-2048' makes an RSA identity; or use the default --seed-key fresh")
	}
	if f.authorized != "" {
		if cfg.Authorized, err = e.loadAuthorized(f.authorized); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// seedFlags applies --seed-key and --rsa-bits, which only the seed
// profile has, and refuses --authorized there (no client authentication).
func seedFlags(c *cobra.Command, cfg *channel.Config, f *serveFlags) error {
	fl := c.Flags()
	if cfg.Profile != channel.Seed {
		if fl.Changed("seed-key") || fl.Changed("rsa-bits") {
			return usagef("--seed-key and --rsa-bits are for --profile seed")
		}
		return nil
	}
	identity := f.seedKey.k == channel.SeedKeyIdentity
	switch {
	case fl.Changed("authorized"):
		return usagef("--authorized is for --profile v2: the seed profile has no client authentication")
	case identity && fl.Changed("rsa-bits"):
		return usagef("--rsa-bits is for fresh keys; --seed-key identity sends the identity's own key")
	case identity && f.identity == "":
		return usagef("--seed-key identity needs -i IDENTITY with an RSA exchange key")
	}
	cfg.SeedKey, cfg.RSABits = f.seedKey.k, int(f.rsaBits)
	if identity {
		cfg.RSABits = 0
	}
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

// connectFlags are the flags of channel connect.
type connectFlags struct {
	server, identity, forwardLocal, addrFile string
	profile                                  profileValue
	insecure                                 bool
}

func newChannelConnectCmd(e *env) *cobra.Command {
	o := connectFlags{profile: profileValue{channel.V2}}
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
	profileFlag(c, &o.profile)
	f.StringVar(&o.server, "server", "", "the server's `RECIPIENT` (a recipient line, a file or a contact name)")
	f.BoolVar(&o.insecure, "insecure", false, "connect without authenticating the server: anyone in between can read and change everything")
	f.StringVarP(&o.identity, "identity", "i", "", "v2: authenticate as `IDENTITY` (a file or a stored identity)")
	f.StringVar(&o.forwardLocal, "forward-local", "", "listen on `ADDR` and forward each connection over its own channel")
	f.StringVar(&o.addrFile, "addr-file", "", "with --forward-local: write the bound address to `FILE`")
	requireWith(c, "addr-file", "forward-local")
	return c
}

// connectChannel is channel connect.
func (e *env) connectChannel(c *cobra.Command, addr string, o *connectFlags) error {
	cfg, err := e.clientConfig(c, o)
	if err != nil {
		return err
	}
	if o.forwardLocal != "" {
		return e.forwardLocal(c, cfg, addr, o)
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
func (e *env) clientConfig(c *cobra.Command, o *connectFlags) (*channel.Config, error) {
	profile := o.profile.p
	switch {
	case o.server == "" && !o.insecure:
		return nil, withHint(usagef("channel connect needs --server RECIPIENT, the server's key"),
			"--insecure connects to whoever answers, unauthenticated (see '%s --help')", c.CommandPath())
	case o.server != "" && o.insecure:
		return nil, usagef("--server and --insecure are exclusive")
	case profile == channel.Seed && o.identity != "":
		return nil, usagef("-i is for --profile v2: the seed profile has no client authentication")
	}
	cfg := &channel.Config{Profile: profile, Insecure: o.insecure}
	var err error
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
func (e *env) forwardLocal(c *cobra.Command, cfg *channel.Config, addr string, o *connectFlags) error {
	ln, err := net.Listen("tcp", o.forwardLocal)
	if err != nil {
		return err
	}
	defer ln.Close()
	if err := e.announce(ln.Addr(), o.addrFile); err != nil {
		return err
	}
	log := e.logger()
	ctx, cancel := stopContext(c.Context())
	defer cancel()
	stopped := context.AfterFunc(ctx, func() {
		if sig, ok := signalOf(ctx); ok {
			log.Info("shutting down", "signal", sig.String())
		}
		ln.Close()
	})
	defer stopped()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		local, err := ln.Accept()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		wg.Go(func() { forwardOne(ctx, log, local.(*net.TCPConn), addr, cfg) })
	}
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
	log.Info("forwarding", conn.ConnectionState().LogAttrs("server_fingerprint")...)
	if err := splice(conn, local); err != nil {
		log.Warn("forwarding failed", "err", err)
		return
	}
	log.Info("forwarding closed")
}
