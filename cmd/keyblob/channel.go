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
	"strings"
	"syscall"
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
	listen, identity, authorized string
	certs                        certFlags
	profile                      profileValue
	seedKey                      seedKeyValue
	rsaBits                      rsaBitsValue
	echo                         bool
	execCmd, forward, addrFile   string
	// execArgs are the arguments after "--", execDash whether there
	// was one: then --exec is the program, verbatim (execArgv).
	execArgs                             []string
	execDash                             bool
	handshakeTimeout, idleTimeout, grace time.Duration
	maxSessions, maxHandshakes           int
	ratePerIP, networkRate, globalRate   float64
	keyRate                              float64
	seedEpoch                            time.Duration
}

func newChannelServeCmd(e *env) *cobra.Command {
	f := serveFlags{handshakeTimeout: channel.DefaultHandshakeTimeout, idleTimeout: channel.DefaultIdleTimeout, grace: defaultGrace, rsaBits: 2048, seedEpoch: channel.DefaultSeedEpoch, keyRate: channel.DefaultKeyPoolRate, profile: profileValue{channel.V2}}
	c := &cobra.Command{
		Use:   "serve --listen ADDR [--profile seed|v2] [-i IDENTITY] [--cert FILE] [--authorized FILE] [--authorized-ca CA [--authorized-name PATTERN]] [--seed-key fresh|identity] [--rsa-bits 2048|3072|4096] (--echo | --exec CMD [-- ARG...] | --forward HOST:PORT)",
		Short: "Accept channel connections and echo, run a command, or forward each",
		Long: `serve listens on ADDR and runs the server end of a channel for every
connection: --echo sends every received message back, --exec runs CMD
per connection with the channel as its standard input and output,
--forward proxies to a TCP address.

--exec CMD is split at spaces and run without a shell; --exec PROG -- ARG...
runs PROG (taken verbatim) with each ARG as one argument, spaces included.
The program is looked up in $PATH when serve starts: a missing one is a
usage error (exit 2). Its standard error is the server's. It gets a clean
environment: PATH, HOME, USER, LOGNAME, TZ, TMPDIR, LANG and LC_* of the
server's, nothing else (no KEYBLOB_* variable), and
KEYBLOB_CHANNEL_PEER (the client's key fingerprint, as the log's client=;
empty when the client is anonymous), KEYBLOB_CHANNEL_PROFILE (v2 or seed)
and KEYBLOB_CHANNEL_REMOTE_ADDR (the client's host:port).

--exec and --forward have socat's stream semantics. At the end of the
client's input the command's standard input is closed (--forward: the
connection to the target is half-closed), and its output still goes to
the client. Once the output ends
(and the command exited 0) the channel closes cleanly; input the command
no longer reads is dropped. A command that exits non-zero or is killed,
or a target that resets, makes the server cut the connection without the
channel's close: the client exits 1, and the server logs "session
failed" with the exit status. Without --authorized (and always with the
seed profile) every client that connects runs the command or reaches the
target: serve warns about it.

A v2 server needs -i IDENTITY (a file or a stored identity); with
--authorized FILE it accepts only the clients listed there, one recipient
line, recipient file or contact name per line. A seed server signs its
session keys when its identity can sign. With --seed-key fresh (the
default) every session gets its own RSA key, made in the background at
most --key-rate a second: a connection waits for one (at most 2s) and
is closed if none comes. --seed-key identity sends an epoch key that the
identity signs, the same to every session for --seed-epoch (forward
secrecy per epoch), and refuses a recorded session replayed into it; a
restart makes a new epoch key, so nothing recorded before it opens.

Handshakes are admitted within --rate per source address (an IPv6 /64),
--network-rate per network (an IPv4 /24 or IPv6 /48) and --global-rate
for all; with --max-handshakes under way, the oldest is closed for a new
one. A client refused after its handshake (--max-sessions) is told so.

Certificates (spec/channel.md sections 3.9 and 4.8): --cert FILE is a PEM chain
whose leaf certifies -i (keyblob cert request / issue, or any CA that
copies the request's extensions); it is sent to clients that ask for it
(connect --server-ca; a seed server puts it in every hello, which a
client pinning it with --server then cannot read). --authorized-ca CA (v2) (a CA file or a stored CA)
also admits clients whose certificate that CA issued, for a name matching
--authorized-name PATTERN if given; --crl FILE refuses revoked ones. The
certified name reaches --exec as KEYBLOB_CHANNEL_PEER_NAME and the log.

Once listening it prints "keyblob: listening on ADDR" on stderr (and
writes ADDR to --addr-file), then logs each session there. SIGINT or
SIGTERM stop it: it stops accepting and lets sessions finish for --grace.`,
		Args: serveArgs,
		RunE: func(c *cobra.Command, args []string) error {
			f.execArgs, f.execDash = args, c.ArgsLenAtDash() >= 0
			return e.serve(c, &f)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.listen, "listen", "", "listen on `ADDR` (host:port; port 0 picks one)")
	profileFlag(c, &f.profile)
	fl.StringVarP(&f.identity, "identity", "i", "", "server identity `IDENTITY` (a file or a stored identity)")
	fl.StringVar(&f.authorized, "authorized", "", "v2: accept only the clients listed in `FILE`")
	fl.StringVar(&f.certs.cert, "cert", "", "v2: send the certificate chain in `FILE` (PEM) to clients that ask; it must certify -i")
	fl.StringVar(&f.certs.peerCA, "authorized-ca", "", "v2: also accept clients whose certificate the CA in `FILE` (or a stored CA) issued")
	fl.StringVar(&f.certs.peerName, "authorized-name", "", "with --authorized-ca: only clients certified for a name matching `PATTERN` (* within a label)")
	fl.StringArrayVar(&f.certs.crls, "crl", nil, "with --authorized-ca: refuse the certificates the CRL in `FILE` revokes (repeatable)")
	wordsFlag(c, &f.seedKey, "seed-key", "seed: the RSA key sent, fresh (per session) or identity")
	wordsFlag(c, &f.rsaBits, "rsa-bits", "seed: size of the RSA keys sent, 2048, 3072 or 4096")
	fl.Float64Var(&f.keyRate, "key-rate", channel.DefaultKeyPoolRate, "seed, fresh keys: most RSA keys made per second")
	durationFlag(c, &f.seedEpoch, "seed-epoch", "seed, identity keys: send one epoch key for `DURATION`")
	fl.BoolVar(&f.echo, "echo", false, "send every received message back")
	fl.StringVar(&f.execCmd, "exec", "", "run `CMD` per connection, the channel as its stdin and stdout (--exec PROG -- ARG...: arguments with spaces)")
	fl.StringVar(&f.forward, "forward", "", "forward each connection to `HOST:PORT`")
	fl.StringVar(&f.addrFile, "addr-file", "", "write the bound address to `FILE` once listening")
	fl.IntVar(&f.maxSessions, "max-sessions", channel.DefaultMaxSessions, "most concurrent established sessions; a handshake beyond them is closed")
	fl.IntVar(&f.maxHandshakes, "max-handshakes", channel.DefaultMaxHandshakes, "most connections in their handshake at once; more are closed at once")
	fl.Float64Var(&f.ratePerIP, "rate", channel.DefaultHandshakeRate, "most handshakes per second from one source address or IPv6 /64 (also the burst)")
	fl.Float64Var(&f.networkRate, "network-rate", 4*channel.DefaultHandshakeRate, "most handshakes per second from one IPv4 /24 or IPv6 /48")
	fl.Float64Var(&f.globalRate, "global-rate", channel.DefaultGlobalHandshakeRate, "most handshakes per second from all sources together")
	durationFlag(c, &f.handshakeTimeout, "handshake-timeout", "close a connection whose handshake takes longer than `DURATION`")
	durationFlag(c, &f.idleTimeout, "idle-timeout", "close a session idle for `DURATION`")
	durationFlag(c, &f.grace, "grace", "on SIGINT/SIGTERM, let sessions finish for `DURATION`")
	return c
}

// serveArgs allows arguments only after "--" and with --exec: the
// command's.
func serveArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 && (c.ArgsLenAtDash() != 0 || !c.Flags().Changed("exec")) {
		return usagef("%s takes no arguments but those of --exec PROG -- ARG..., after -- (see '%s --help')", cmdName(c), c.CommandPath())
	}
	return nil
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
	handler, err := e.sessionHandler(c, f)
	if err != nil {
		return nil, err
	}
	cfg, err := e.serverConfig(c, f)
	if err != nil {
		return nil, err
	}
	if f.maxSessions < 1 || f.maxHandshakes < 1 || f.ratePerIP <= 0 || f.networkRate <= 0 || f.globalRate <= 0 {
		return nil, usagef("--max-sessions, --max-handshakes, --rate, --network-rate and --global-rate must be positive")
	}
	e.warnOpenServer(c, f, cfg)
	return &channel.Server{
		Config: cfg, Handler: handler, Logger: e.logger(),
		MaxSessions: f.maxSessions, MaxHandshakes: f.maxHandshakes,
		HandshakeRate: f.ratePerIP, PrefixRate: f.networkRate, GlobalHandshakeRate: f.globalRate,
	}, nil
}

// sessionHandler chooses what is done with each session: exactly one of
// --echo, --exec, --forward.
func (e *env) sessionHandler(c *cobra.Command, o *serveFlags) (channel.Handler, error) {
	var given []string
	for _, n := range []string{"echo", "exec", "forward"} {
		if c.Flags().Changed(n) {
			given = append(given, "--"+n)
		}
	}
	if len(given) != 1 {
		return nil, usagef("channel serve needs exactly one of --echo, --exec CMD and --forward HOST:PORT, got %d (see '%s --help')", len(given), c.CommandPath())
	}
	switch given[0] {
	case "--echo":
		return echoSession, nil
	case "--exec":
		spec, err := e.newExecSpec(o)
		if err != nil {
			return nil, err
		}
		return spec.session, nil
	}
	if _, _, err := net.SplitHostPort(o.forward); err != nil {
		return nil, usagef("--forward %q: want HOST:PORT", o.forward)
	}
	return func(conn *channel.Conn) error { return forwardSession(conn, o.forward) }, nil
}

// warnOpenServer warns when --exec or --forward serves clients that no
// --authorized file chooses: anyone who can connect runs the command or
// reaches the target.
func (e *env) warnOpenServer(c *cobra.Command, f *serveFlags, cfg *channel.Config) {
	if cfg.Authorized != nil || cfg.VerifyClientCertificate != nil || f.echo {
		return
	}
	what, does := "--exec", "runs "+strings.Join(f.execArgv(), " ")
	if c.Flags().Changed("forward") {
		what, does = "--forward", "reaches "+f.forward
	}
	without := "without --authorized"
	if cfg.Profile == channel.Seed {
		without = "with --profile seed (no client authentication)"
	}
	fmt.Fprintf(e.stderr, "keyblob: warning: %s %s: every client that connects %s\n", what, without, does)
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
	if cfg.SeedKey == channel.SeedKeyIdentity && !cfg.Identity.CanSign() {
		return nil, withHint(fmt.Errorf("--seed-key identity sends epoch keys the identity signs, and %s (%s) has no signature key", f.identity, cfg.Identity.Kind()),
			"use an identity with a signature key (keyblob keygen makes one), or the default --seed-key fresh")
	}
	if f.authorized != "" {
		if cfg.Authorized, err = e.loadAuthorized(f.authorized); err != nil {
			return nil, err
		}
	}
	return cfg, e.serverCerts(c, cfg, &f.certs)
}

// serverCerts applies --cert, --authorized-ca, --authorized-name and
// --crl (v2 only).
func (e *env) serverCerts(c *cobra.Command, cfg *channel.Config, f *certFlags) error {
	fl := c.Flags()
	switch {
	case cfg.Profile == channel.Seed && f.peerCA != "":
		return usagef("--authorized-ca is for --profile v2: the seed profile has no client authentication")
	case f.peerCA == "" && (fl.Changed("authorized-name") || fl.Changed("crl")):
		return usagef("--authorized-name and --crl need --authorized-ca")
	}
	var err error
	if f.cert != "" {
		if cfg.Certificate, err = e.ownChain(f.cert, cfg.Identity); err != nil {
			return err
		}
	}
	if f.peerCA != "" {
		cfg.VerifyClientCertificate, err = e.clientVerifier(f)
	}
	return err
}

// seedFlags applies --seed-key and --rsa-bits, which only the seed
// profile has, and refuses --authorized there (no client authentication).
func seedFlags(c *cobra.Command, cfg *channel.Config, f *serveFlags) error {
	fl := c.Flags()
	if cfg.Profile != channel.Seed {
		if fl.Changed("seed-key") || fl.Changed("rsa-bits") || fl.Changed("key-rate") || fl.Changed("seed-epoch") {
			return usagef("--seed-key, --rsa-bits, --key-rate and --seed-epoch are for --profile seed")
		}
		return nil
	}
	identity := f.seedKey.k == channel.SeedKeyIdentity
	switch {
	case fl.Changed("authorized"):
		return usagef("--authorized is for --profile v2: the seed profile has no client authentication")
	case identity && fl.Changed("key-rate"):
		return usagef("--key-rate is for fresh keys; --seed-key identity makes one key per --seed-epoch")
	case !identity && fl.Changed("seed-epoch"):
		return usagef("--seed-epoch is for --seed-key identity")
	case identity && f.identity == "":
		return usagef("--seed-key identity needs -i IDENTITY with a signature key, to sign its epoch keys")
	case f.keyRate <= 0:
		return usagef("--key-rate must be positive")
	case f.seedEpoch <= 0 || f.seedEpoch > 7*24*time.Hour:
		return usagef("--seed-epoch must be more than 0s and at most 7 days")
	}
	cfg.SeedKey, cfg.RSABits = f.seedKey.k, int(f.rsaBits)
	if identity {
		cfg.SeedEpoch = f.seedEpoch
	}
	if !identity && fl.Changed("key-rate") {
		pool, err := channel.NewKeyPool(channel.KeyPoolConfig{Bits: cfg.RSABits, Rate: f.keyRate})
		if err != nil {
			return usagef("--key-rate: %v", err)
		}
		cfg.KeyPool = pool // lives as long as the server, which is the process
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
		return sessionError(err)
	}
	return conn.CloseWrite()
}

// connectFlags are the flags of channel connect.
type connectFlags struct {
	server, identity, forwardLocal, addrFile string
	certs                                    certFlags
	profile                                  profileValue
	insecure                                 bool
	maxSessions                              int
	grace                                    time.Duration
}

func newChannelConnectCmd(e *env) *cobra.Command {
	o := connectFlags{profile: profileValue{channel.V2}, maxSessions: channel.DefaultMaxSessions, grace: defaultGrace}
	c := &cobra.Command{
		Use:   "connect ADDR [--profile seed|v2] [--server RECIPIENT | --server-ca CA --server-name NAME | --insecure] [-i IDENTITY [--cert FILE]] [--forward-local ADDR [--max-sessions N] [--grace DURATION]]",
		Short: "Connect to a channel server: stdin to it, its messages to stdout",
		Long: `connect runs the client end of a channel to ADDR. Standard input goes
to the server, and what the server sends to standard output; at the end of
standard input the client closes its sending side, and it exits 0 once the
server has closed the channel properly (exit 1 if the connection was cut).
A server that closes the connection without closing the channel before
sending anything refused the session (its session limit, rate limit or
policy) or the session failed there: exit 1, with a message saying so.

--server RECIPIENT (a recipient line, a file or a contact name) is the
server's key: v2 encapsulates to its exchange key, seed verifies its
signature. Without --server the client refuses unless --insecure, which
authenticates no server at all. Instead of --server, --server-ca CA
--server-name NAME (v2) asks the server for its certificate chain and
accepts it if CA (a file or a stored CA) issued it for the DNS name NAME,
valid now and not revoked (--crl FILE); the handshake then proves the
server holds the certified key. -i IDENTITY authenticates the client
(v2), and --cert FILE sends its certificate chain, which must certify -i.

With --forward-local ADDR it listens there instead and forwards every local
connection over a channel of its own, as stunnel does, at most
--max-sessions at once (more are closed at once), with serve's stream
semantics (the end of data is passed on, a failure cuts the other side:
a local connection is reset). It logs each forwarding on stderr, with the
bytes sent and received. An ADDR that is not a loopback address draws a
warning: anyone who can reach it uses the channel, as -i IDENTITY. SIGINT
or SIGTERM stop it: it stops accepting and lets the forwardings finish for
--grace, then closes them; a second signal stops it at once.`,
		Args: argsExactly(1),
		RunE: func(c *cobra.Command, args []string) error { return e.connectChannel(c, args[0], &o) },
	}
	f := c.Flags()
	profileFlag(c, &o.profile)
	f.StringVar(&o.server, "server", "", "the server's `RECIPIENT` (a recipient line, a file or a contact name)")
	f.StringVar(&o.certs.peerCA, "server-ca", "", "v2: accept a server whose certificate the CA in `FILE` (or a stored CA) issued for --server-name")
	f.StringVar(&o.certs.peerName, "server-name", "", "with --server-ca: the DNS `NAME` the server's certificate must be for")
	f.StringVar(&o.certs.cert, "cert", "", "v2: send the certificate chain in `FILE` (PEM), which must certify -i")
	f.StringArrayVar(&o.certs.crls, "crl", nil, "with --server-ca: refuse a certificate the CRL in `FILE` revokes (repeatable)")
	f.BoolVar(&o.insecure, "insecure", false, "connect without authenticating the server: anyone in between can read and change everything")
	f.StringVarP(&o.identity, "identity", "i", "", "v2: authenticate as `IDENTITY` (a file or a stored identity)")
	f.StringVar(&o.forwardLocal, "forward-local", "", "listen on `ADDR` and forward each connection over its own channel")
	f.StringVar(&o.addrFile, "addr-file", "", "with --forward-local: write the bound address to `FILE`")
	f.IntVar(&o.maxSessions, "max-sessions", channel.DefaultMaxSessions, "with --forward-local: most forwardings at once; more local connections are closed")
	durationFlag(c, &o.grace, "grace", "with --forward-local: on SIGINT/SIGTERM, let forwardings finish for `DURATION`")
	for _, name := range []string{"addr-file", "max-sessions", "grace"} {
		requireWith(c, name, "forward-local")
	}
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
	return e.stdio(conn, addr)
}

// clientConfig builds the client's channel config of the flags.
func (e *env) clientConfig(c *cobra.Command, o *connectFlags) (*channel.Config, error) {
	profile := o.profile.p
	switch {
	case o.server == "" && !o.insecure && o.certs.peerCA == "":
		return nil, withHint(usagef("channel connect needs --server RECIPIENT, the server's key, or --server-ca CA --server-name NAME"),
			"--insecure connects to whoever answers, unauthenticated (see '%s --help')", c.CommandPath())
	case (o.server != "") && o.insecure || o.certs.peerCA != "" && (o.server != "" || o.insecure):
		return nil, usagef("--server, --server-ca and --insecure are exclusive")
	case o.certs.peerCA == "" && (c.Flags().Changed("server-name") || c.Flags().Changed("crl")):
		return nil, usagef("--server-name and --crl need --server-ca")
	case o.certs.cert != "" && o.identity == "":
		return nil, usagef("%v", errNoCertIdentity)
	case profile == channel.Seed && o.certs.cert != "":
		return nil, usagef("--cert is for --profile v2: the seed profile has no client authentication")
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
	if o.certs.cert != "" {
		if cfg.Certificate, err = e.ownChain(o.certs.cert, cfg.Identity); err != nil {
			return nil, err
		}
	}
	if o.certs.peerCA != "" {
		cfg.VerifyServerCertificate, err = e.serverVerifier(&o.certs)
	}
	return cfg, err
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
func (e *env) stdio(conn *channel.Conn, addr string) error {
	sent := make(chan error, 1)
	go func() {
		_, err := io.Copy(conn, e.stdin)
		if err == nil {
			err = conn.CloseWrite()
		}
		sent <- err
	}()
	if n, err := io.Copy(e.stdout, conn); err != nil {
		return receiveError(addr, n, err)
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

// receiveError says why the channel ended without the server's close. A
// cut before any byte arrived is how a server turns a session away after
// the handshake (or how one whose command failed ends it): it says so.
func receiveError(addr string, received int64, err error) error {
	cut := errors.Is(err, channel.ErrTruncated) || errors.Is(err, syscall.ECONNRESET)
	if !cut || received > 0 {
		return fmt.Errorf("channel: %w", err)
	}
	return withHint(fmt.Errorf("channel to %s: the server closed the connection without closing the channel: "+
		"it refused the session (session limit, rate limit or policy), the session failed there, or the connection was cut: %w", addr, err),
		"nothing was received; the server's log says why it closed")
}
