package main

// keyblob authority: the backup authority's side (init, serve, approve,
// audit verify) and the client's name for one (add). The protocol and
// the service are package authority's (spec/escrow-api.md); this file
// only chooses keys, databases and addresses, listens, logs and stops.

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority"
	"github.com/keyblob/keyblob/authority/api"
	"github.com/keyblob/keyblob/authority/pgstore"
	"github.com/keyblob/keyblob/authority/sqlitestore"
	"github.com/keyblob/keyblob/internal/atomicfile"
	"github.com/keyblob/keyblob/keystore"
)

// The files of an authority directory (authority init --dir).
const (
	authorityKeyFile  = "authority.key" // the identity, PEM, 0600 (unprotected)
	authorityStoreDir = "keystore"      // or: a key store holding it, passphrase-protected
	authorityIDName   = "authority"     // its name in that store
	authorityPubFile  = "authority.pub" // its recipient line, 0644
	authorityDBFile   = "authority.db"  // the default SQLite database
	shutdownGrace     = 10 * time.Second
)

func newAuthorityCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "authority",
		Short: "Run a backup authority (init, serve, approve, audit verify, console-login), or name one (add)",
		Long: `keyblob authority runs a backup authority (CryptoAPI's "Using a Backup
Authority", spec/escrow-api.md): a service that keeps session keys as key
blobs wrapped to its own key and, once an owner proves who it is with its
recovery code, re-wraps them to the owner's new identity. 'authority add'
names an authority for the escrow commands.`,
		Args: argsExactly(0),
	}
	audit := &cobra.Command{
		Use:   "audit",
		Short: "Check the authority's audit log",
		Long:  `audit verify checks the hash chain of the authority's audit log.`,
		Args:  argsExactly(0),
	}
	audit.AddCommand(newAuditVerifyCmd(e))
	c.AddCommand(newAuthorityInitCmd(e), newAuthorityServeCmd(e), newAuthorityAddCmd(e),
		newAuthorityListCmd(e), newAuthorityRmCmd(e), newAuthorityApproveCmd(e), audit, newAuthorityPolicyCmd(e), newThrottleResetCmd(e),
		newConsoleLoginCmd(e), newAuthorityBackupCmd(e))
	return c
}

func newAuthorityInitCmd(e *env) *cobra.Command {
	var dir, kind string
	var ask bool
	c := &cobra.Command{
		Use:   "init --dir DIR [-t KIND] [-p]",
		Short: "Make a backup authority's identity in DIR and print its recipient line",
		Long: `init makes the authority's identity (hybrid by default) in DIR, created
with mode 0700: DIR/authority.key (mode 0600) holds it, or, with -p or
--passphrase-file FILE, DIR/keystore holds it encrypted under that
passphrase (Argon2id), which serve then asks for (--passphrase-file or
KEYBLOB_PASSPHRASE_FILE). DIR/authority.pub gets its recipient line, which
init also prints: give it to the authority's clients, by a channel you
trust, for 'keyblob authority add'. A DIR that already holds an authority is
refused.`,
		Args: argsExactly(0),
		RunE: func(c *cobra.Command, _ []string) error {
			if err := required(c, "dir"); err != nil {
				return err
			}
			return e.authorityInit(dir, kind, ask || e.passFile != "")
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "the authority's `DIR`")
	kindFlag(c, &kind)
	c.Flags().BoolVarP(&ask, "passphrase", "p", false, "protect the identity with a passphrase, asked on the terminal")
	return c
}

func (e *env) authorityInit(dir, kind string, protect bool) error {
	id, err := keyblob.GenerateIdentity(kind)
	if err != nil {
		return err
	}
	if !id.CanExchange() || !id.CanSign() {
		return withHint(fmt.Errorf("a %s identity cannot both receive and sign", kind), "use -t hybrid (the default), x25519 or an RSA kind")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, name := range []string{authorityKeyFile, authorityStoreDir, authorityPubFile} {
		if isFile(filepath.Join(dir, name)) {
			return withHint(fmt.Errorf("%s already holds a backup authority (%s)", dir, name), "choose another --dir")
		}
	}
	if err := e.writeAuthorityIdentity(dir, id, protect); err != nil {
		return err
	}
	line := id.Recipient().String()
	if err := atomicfile.Create(filepath.Join(dir, authorityPubFile), []byte(line+"\n"), modePublic); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, line)
	return nil
}

func (e *env) writeAuthorityIdentity(dir string, id *keyblob.Identity, protect bool) error {
	if !protect {
		data, err := id.MarshalPEM()
		if err != nil {
			return err
		}
		return atomicfile.Create(filepath.Join(dir, authorityKeyFile), data, modeSecret)
	}
	pass, err := e.readPassphrase("the authority's identity", e.passFile, true)
	if err != nil {
		return err
	}
	s, err := keystore.Create(filepath.Join(dir, authorityStoreDir), nil)
	if err != nil {
		return err
	}
	return storeError(s.ImportIdentity(authorityIDName, id, pass))
}

// loadAuthorityIdentity reads the identity authority init made in dir.
func (e *env) loadAuthorityIdentity(dir string) (*keyblob.Identity, error) {
	keyPath := filepath.Join(dir, authorityKeyFile)
	_, err := os.Lstat(keyPath)
	if err == nil {
		return e.readIdentityFile(keyPath)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	s, err := keystore.Open(filepath.Join(dir, authorityStoreDir), nil)
	if errors.Is(err, keystore.ErrNoStore) {
		return nil, withHint(fmt.Errorf("%s holds no backup authority", dir), "'keyblob authority init --dir %s' makes one", dir)
	}
	if err != nil {
		return nil, storeError(err)
	}
	pass, err := e.readPassphrase("the authority's identity", e.passFile, false)
	if err != nil {
		return nil, err
	}
	k, err := s.Unlock(authorityIDName, pass)
	if err != nil {
		return nil, storeError(err)
	}
	return k.Current(), nil
}

// authServe are the flags of authority serve.
type authServe struct {
	dir, listen, tlsCert, tlsKey, operators, addrFile string
	db                                                dbValue
	requireApproval, console                          bool
	quorum, maxConns                                  int
	delay, throttleBase, throttleMax                  time.Duration
	throttleAfter                                     int
	sourceRate                                        float64
	sourceBurst                                       int
}

func newAuthorityServeCmd(e *env) *cobra.Command {
	o := authServe{quorum: 1, delay: 24 * time.Hour, throttleAfter: authority.DefaultThrottleAfter,
		throttleBase: time.Minute, throttleMax: 24 * time.Hour, maxConns: maxConnsDefault()}
	c := &cobra.Command{
		Use:   "serve --dir DIR --listen ADDR [--db sqlite:PATH | --db postgres://...] [--tls-cert FILE --tls-key FILE] [--require-approval --operators FILE [--quorum K]] [--recovery-delay D] [--throttle-after N --throttle-base D --throttle-max D] [--console --operators FILE] [--addr-file FILE]",
		Short: "Serve the backup authority of DIR over HTTP (JSON; /metrics, /healthz; the operator console)",
		Long: `serve runs the backup authority whose identity authority init made in DIR:
the JSON protocol of spec/escrow-api.md over HTTP (HTTPS with --tls-cert and
--tls-key), with Prometheus metrics at /metrics and /healthz. Its records
go to --db: sqlite:PATH (default sqlite:DIR/authority.db) or a PostgreSQL
URL (postgres://...), which several serve instances may share.

With --require-approval a recovery needs the signed approval ('keyblob
authority approve') of --quorum K distinct operators (default 1) listed in
--operators FILE: one recipient line, recipient file or contact name per
line ('#' comments).

A recovery request can be completed only --recovery-delay after it was
made (default 24h): until then the owner's current identity can cancel it
('keyblob escrow cancel'), and 'keyblob escrow watch' tells the owner about
it. 0s gives that up: whoever holds the code gets the keys at once. After
--throttle-after wrong recovery codes (default 5) an owner's next code
check waits --throttle-base (default 1m), doubling with each further wrong
code up to --throttle-max (default 24h); requests meanwhile get 429 and
cost no Argon2id; the right code resets the count. Nothing ever locks an
owner out.

With --console it also serves the operator console under /console/ on the
same listener (HTTPS with --tls-cert): the log, recovery requests, owners
and the audit log, for the operators of --operators, who sign in with a
link from 'keyblob authority console-login' (no passwords).

Once listening it prints "keyblob: listening on ADDR" on stderr (and writes
ADDR to --addr-file), then logs every request there (log/slog): method,
route, status and time, never a code, key or database password. SIGINT or
SIGTERM stop it gracefully: no new requests, and those under way get 10s.

It keeps at most --max-conns N connections open (by default the limit on
open files less 64, kept for the database and the logs): more wait to be
accepted until one closes, and a connection idle for 10s before its
request, or 2 minutes between requests, is closed.`,
		Args: argsExactly(0),
		RunE: func(c *cobra.Command, _ []string) error { return e.serveAuthority(c, &o) },
	}
	f := c.Flags()
	f.StringVar(&o.dir, "dir", "", "the authority's `DIR` (authority init)")
	f.StringVar(&o.listen, "listen", "", "listen on `ADDR` (host:port; port 0 picks one)")
	f.Var(&o.db, "db", "the database: sqlite:PATH or a postgres:// URL (default sqlite:DIR/authority.db)")
	f.StringVar(&o.db.passwordFile, "db-password-file", "", dbPasswordUsage)
	f.StringVar(&o.tlsCert, "tls-cert", "", "serve HTTPS with the certificate chain in `FILE` (PEM)")
	f.StringVar(&o.tlsKey, "tls-key", "", "the TLS private key in `FILE` (PEM)")
	f.BoolVar(&o.requireApproval, "require-approval", false, "recoveries need approvals by operators")
	f.StringVar(&o.operators, "operators", "", "the operators, one recipient per line of `FILE`")
	f.IntVar(&o.quorum, "quorum", 1, "distinct operator approvals a recovery needs")
	f.StringVar(&o.addrFile, "addr-file", "", "write the bound address to `FILE` once listening")
	f.Var(delayValue{&o.delay}, "recovery-delay", "a recovery can be completed this `DURATION` after it was made (0s: at once)")
	f.IntVar(&o.throttleAfter, "throttle-after", o.throttleAfter, "wrong recovery codes after which an owner's code checks wait")
	durationFlag(c, &o.throttleBase, "throttle-base", "the first wait, doubled with each further wrong code (`DURATION`, default 1m)")
	durationFlag(c, &o.throttleMax, "throttle-max", "the longest wait (`DURATION`, default 24h)")
	f.Float64Var(&o.sourceRate, "source-rate", authority.DefaultSourceRate, "enrolments and recovery requests per second from one IPv4 /24 or IPv6 /64 (`RATE`; 0: no limit, as behind a proxy that limits)")
	f.IntVar(&o.sourceBurst, "source-burst", authority.DefaultSourceBurst, "how many of them at once (`N`)")
	f.IntVar(&o.maxConns, "max-conns", o.maxConns, "keep at most `N` connections open (the open-file limit less 64, at least 16)")
	f.BoolVar(&o.console, "console", false, "serve the operator console under /console/ (needs --operators)")
	requireWith(c, "operators", "require-approval", "console")
	requireWith(c, "quorum", "require-approval")
	return c
}

func checkServeFlags(c *cobra.Command, o *authServe) error {
	if err := required(c, "dir", "listen"); err != nil {
		return err
	}
	switch {
	case (o.tlsCert == "") != (o.tlsKey == ""):
		return usagef("--tls-cert and --tls-key go together (see '%s --help')", c.CommandPath())
	case o.requireApproval && o.operators == "":
		return usagef("--require-approval needs --operators FILE (see '%s --help')", c.CommandPath())
	case o.console && o.operators == "":
		return usagef("%v (see '%s --help')", errNoConsoleOperators, c.CommandPath())
	case o.quorum < 1:
		return usagef("--quorum must be at least 1, not %d", o.quorum)
	case o.maxConns < 1:
		return usagef("--max-conns must be at least 1, not %d", o.maxConns)
	case o.sourceRate < 0 || o.sourceBurst < 1:
		return usagef("--source-rate must be 0 (no limit) or more, and --source-burst at least 1")
	}
	return nil
}

// dbValue is --db: sqlite:PATH or a postgres:// (postgresql://) URL;
// the zero value is the default, DIR/authority.db. passwordFile is
// --db-password-file (authority_dbpass.go), which Set leaves alone.
type dbValue struct{ url, path, passwordFile string }

func (v *dbValue) Set(s string) error {
	switch {
	case strings.HasPrefix(s, "sqlite:") && len(s) > len("sqlite:"):
		v.url, v.path = "", strings.TrimPrefix(s, "sqlite:")
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		v.url, v.path = s, ""
	default:
		return errors.New("want sqlite:PATH or a postgres:// URL")
	}
	return nil
}

// String never shows a URL, which may hold a password.
func (v *dbValue) String() string {
	switch {
	case v.url != "":
		return "postgres"
	case v.path != "":
		return "sqlite:" + v.path
	}
	return ""
}

func (v *dbValue) Type() string { return "db" }

// sqlitePath is the SQLite file v names in dir, or "" for PostgreSQL.
func (v *dbValue) sqlitePath(dir string) string {
	switch {
	case v.url != "":
		return ""
	case v.path != "":
		return v.path
	}
	return filepath.Join(dir, authorityDBFile)
}

func (e *env) serveAuthority(c *cobra.Command, o *authServe) error {
	if err := checkServeFlags(c, o); err != nil {
		return err
	}
	cfg, err := e.authorityConfig(o)
	if err != nil {
		return err
	}
	var tlsConfig *tls.Config
	if o.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return withHint(fmt.Errorf("TLS certificate: %w", err), "--tls-cert and --tls-key are PEM files of one certificate chain and its key")
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	store, what, err := openAuthorityStore(c.Context(), o.dir, &o.db)
	if err != nil {
		return err
	}
	defer store.Close()
	cfg.Store, cfg.Logger = store, e.logger()
	svc, err := authority.New(cfg)
	if err != nil {
		return err
	}
	given := c.Flags().Changed("require-approval") || c.Flags().Changed("recovery-delay")
	if _, err := svc.AdoptPolicy(c.Context(), given); err != nil {
		return withHint(err, "change it with 'keyblob authority policy set --dir %s ...', or start serve with its flags, or without --require-approval and --recovery-delay", o.dir)
	}
	ctx, cancel := stopContext(c.Context())
	defer cancel()
	return e.runAuthority(ctx, svc, what, tlsConfig, o)
}

// authorityConfig reads the identity and the operators.
func (e *env) authorityConfig(o *authServe) (*authority.Config, error) {
	id, err := e.loadAuthorityIdentity(o.dir)
	if err != nil {
		return nil, err
	}
	if o.throttleAfter < 1 {
		return nil, usagef("--throttle-after must be at least 1, not %d", o.throttleAfter)
	}
	cfg := &authority.Config{Identity: id, RecoveryDelay: o.delay, ThrottleAfter: o.throttleAfter,
		ThrottleBase: o.throttleBase, ThrottleMax: o.throttleMax}
	if o.requireApproval {
		if cfg.Operators, err = e.loadOperators(o.operators); err != nil {
			return nil, err
		}
		if o.quorum > len(cfg.Operators) {
			return nil, usagef("--quorum %d needs as many operators; %s lists %d", o.quorum, o.operators, len(cfg.Operators))
		}
		cfg.Quorum = o.quorum
	}
	return cfg, nil
}

// loadOperators reads the --operators file as loadAuthorized reads
// channel clients: one recipient per line, '#' comments.
func (e *env) loadOperators(name string) ([]*keyblob.Recipient, error) {
	return e.loadRecipientList(name, "operators", func(r *keyblob.Recipient) error {
		if !r.CanVerify() {
			return errors.New("it has no signature key, which approvals are signed with")
		}
		return nil
	})
}

// openAuthorityStore opens the --db: sqlite:PATH, a postgres:// URL, or
// DIR/authority.db. It also returns what to log about it, which never
// holds the URL (it may carry a password).
func openAuthorityStore(ctx context.Context, dir string, db *dbValue) (authority.Store, string, error) {
	if path := db.sqlitePath(dir); path != "" {
		if db.passwordFile != "" {
			return nil, "", usagef("--db-password-file goes with a postgres:// --db")
		}
		s, err := sqlitestore.Open(path)
		return s, "sqlite:" + path, err
	}
	dsn, err := db.postgresDSN()
	if err != nil {
		return nil, "", err
	}
	s, err := pgstore.Open(ctx, dsn)
	if err != nil {
		return nil, "", fmt.Errorf("opening the PostgreSQL database: %w", err)
	}
	return s, "postgres", nil
}

// runAuthority serves svc until ctx ends (the first SIGINT or SIGTERM),
// running its upkeep beside, then drains the requests in flight for up
// to shutdownGrace.
func (e *env) runAuthority(ctx context.Context, svc *authority.Service, what string, tlsConfig *tls.Config, o *authServe) error {
	log := e.logger()
	tcp, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	cons, err := e.consoleHandler(o, svc, tlsConfig != nil)
	if err != nil {
		tcp.Close()
		return err
	}
	ln := authority.NewListener(tcp, &authority.ListenerOptions{MaxConns: o.maxConns, Logger: log})
	srv := &http.Server{
		Handler: authority.NewHandler(svc, &authority.HandlerOptions{Logger: log, Collectors: []prometheus.Collector{ln},
			SourceRate: sourceRate(o.sourceRate), SourceBurst: o.sourceBurst, Console: cons}),
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if err := e.announce(ln.Addr(), o.addrFile); err != nil {
		ln.Close()
		return err
	}
	policy, err := svc.Policy(ctx)
	if err != nil {
		ln.Close()
		return err
	}
	log.Info("backup authority serving", "fingerprint", svc.Fingerprint().String(), "db", what,
		"tls", tlsConfig != nil, "approvals_required", policy.Quorum, "recovery_delay", policy.Delay.String(),
		"policy", policy.Version, "max_conns", o.maxConns, "console", o.console)
	served := make(chan error, 1)
	go func() { served <- serveHTTP(srv, ln, tlsConfig != nil) }()
	go svc.Run(ctx)
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	return drain(ctx, srv, log)
}

// drain shuts srv down once ctx ended, closing what is left after
// shutdownGrace.
func drain(ctx context.Context, srv *http.Server, log *slog.Logger) error {
	sig, _ := signalOf(ctx)
	log.Info("shutting down", "signal", fmt.Sprint(sig), "grace", shutdownGrace.String())
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer scancel()
	start := time.Now()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("grace period over: closed the remaining connections", "err", err)
		srv.Close()
	}
	log.Info("stopped", "drained_in", time.Since(start).Round(time.Millisecond).String())
	return nil
}

func serveHTTP(srv *http.Server, ln net.Listener, useTLS bool) error {
	var err error
	if useTLS {
		err = srv.ServeTLS(ln, "", "")
	} else {
		err = srv.Serve(ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func newAuthorityApproveCmd(e *env) *cobra.Command {
	var a authFlags
	var idName string
	c := &cobra.Command{
		Use:   "approve REQUEST-ID -i OPERATOR --authority A [--authority-key RECIPIENT]",
		Short: "Approve a recovery request as one of the authority's operators",
		Long: `approve signs an approval of the recovery request REQUEST-ID (32 hex
digits, as 'escrow recover' printed it) with the operator identity
OPERATOR, which must be listed in the authority's --operators file. The
owner, the new identity, and an operator approving twice do not count.
It prints the request's state and its approvals.`,
		Args: argsExactly(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := required(c, "identity"); err != nil {
				return err
			}
			id, err := api.ParseRequestID(args[0])
			if err != nil {
				return usagef("REQUEST-ID %q is not 32 hexadecimal digits", args[0])
			}
			cl, err := e.authorityClient(c, &a)
			if err != nil {
				return err
			}
			op, err := e.loadIdentity(idName)
			if err != nil {
				return err
			}
			r, err := cl.Approve(c.Context(), op, id)
			if err != nil {
				return approveError(err, idName, cl.name)
			}
			fmt.Fprintf(e.stdout, "%s %s %d/%d\n", r.ID, r.State, len(r.Approvals), r.ApprovalsRequired)
			return nil
		},
	}
	c.Flags().StringVarP(&idName, "identity", "i", "", "the operator's `IDENTITY` (a file or a stored identity)")
	authorityFlags(c, &a)
	return c
}

// approveError says why the authority refused the approval of the
// operator identity named opName. The authority answers an approval
// signed by neither one of its operators nor an owner's current identity
// as unauthenticated (authority.Service.Approve), and this client signs
// its requests correctly: for approve, that means the identity is not one
// of the authority's operators.
func approveError(err error, opName, authority string) error {
	if errors.Is(err, api.ErrUnauthenticated) {
		return fmt.Errorf("%s is not one of the operators of %s: %w", opName, authority, err)
	}
	return err
}

func newAuditVerifyCmd(e *env) *cobra.Command {
	var dir string
	var db dbValue
	var checkpoints []string
	c := &cobra.Command{
		Use:   "verify --dir DIR [--db URL] [--checkpoint FILE]...",
		Short: "Verify the authority's audit log: its chain, its tree, and checkpoints kept elsewhere",
		Long: `verify reads every entry of the audit log of the authority in DIR (or of
--db, as for serve), checks its hash chain, recomputes its Merkle tree and
compares it with the stored tree and head, and with every --checkpoint
FILE: a signed checkpoint ('keyblob escrow checkpoint' prints one) or a
kept receipt, verified with DIR/authority.pub. It exits 0 on an intact
log, printing its size and root, and 1 naming the first difference: an
entry edited, inserted or removed, the newest entries deleted, the head
moved, the stored tree rewritten, a log shorter than a checkpoint, or a
history that does not give a checkpoint's root. Someone who can write the
database can rewrite the chain, the tree and the head together: only the
checkpoints that clients, monitors and receipts kept show it.`,
		Args: argsExactly(0),
		RunE: func(c *cobra.Command, _ []string) error {
			if err := required(c, "dir"); err != nil {
				return err
			}
			return e.verifyAudit(c.Context(), dir, &db, checkpoints)
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "the authority's `DIR`")
	c.Flags().Var(&db, "db", "the database, as for serve (default sqlite:DIR/authority.db)")
	c.Flags().StringVar(&db.passwordFile, "db-password-file", "", dbPasswordUsage)
	c.Flags().StringArrayVar(&checkpoints, "checkpoint", nil, "a signed checkpoint or receipt `FILE` to compare the log with (repeatable)")
	return c
}

func (e *env) verifyAudit(ctx context.Context, dir string, db *dbValue, files []string) error {
	cps, err := e.readCheckpoints(dir, files)
	if err != nil {
		return err
	}
	if path := db.sqlitePath(dir); path != "" {
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("no authority database: %w", err)
		}
	}
	store, _, err := openAuthorityStore(ctx, dir, db)
	if err != nil {
		return err
	}
	defer store.Close()
	head, err := authority.VerifyLog(ctx, store, cps)
	if rerr := recordVerify(dir, head, err); rerr != nil {
		e.notice(fmt.Sprintf("could not record the result for the console: %v", rerr))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "the audit log verifies: %d entries, tree root %s, head %x; %d checkpoints agree\n",
		head.Seq, head.Root, head.Hash, len(cps))
	return nil
}

// readCheckpoints reads and verifies checkpoint files with the key of
// the authority in dir.
func (e *env) readCheckpoints(dir string, files []string) ([]api.Checkpoint, error) {
	if len(files) == 0 {
		return nil, nil
	}
	r, err := e.loadRecipient(filepath.Join(dir, authorityPubFile))
	if err != nil {
		return nil, err
	}
	var out []api.Checkpoint
	for _, f := range files {
		cp, err := e.readCheckpoint(r, f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		out = append(out, cp)
	}
	return out, nil
}

// readCheckpoint reads a signed checkpoint, or the one of a kept receipt.
func (e *env) readCheckpoint(r *keyblob.Recipient, file string) (api.Checkpoint, error) {
	data, err := e.readLimited(file, "checkpoint", api.MaxBody)
	if err != nil {
		return api.Checkpoint{}, err
	}
	if bytes.HasPrefix(data, []byte("{")) {
		var sr storedReceipt
		if err := json.Unmarshal(data, &sr); err != nil {
			return api.Checkpoint{}, fmt.Errorf("%w receipt file: %v", keyblob.ErrMalformed, err)
		}
		data = []byte(sr.Receipt.Checkpoint)
	}
	return api.OpenCheckpoint(r, data)
}

// sourceRate is the handler's SourceRate for --source-rate: 0 turns the
// limit off.
func sourceRate(r float64) float64 {
	if r == 0 {
		return -1
	}
	return r
}
