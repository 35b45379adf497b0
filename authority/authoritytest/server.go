// Package authoritytest runs backup authority servers as separate
// processes, for the tests that kill them (durability) or run several on
// one database (two instances), and for the load bench. A program that
// uses it calls ServeIfHelper first thing in main (or TestMain): when the
// environment names a server configuration, the process is that server,
// and never returns; otherwise StartServer re-executes the program as
// such a server.
//
// It is for tests and benchmarks only: the server it runs is the
// authority's handler over a store, on 127.0.0.1, without TLS, with no
// operators.
package authoritytest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority"
	"github.com/keyblob/keyblob/authority/pgstore"
	"github.com/keyblob/keyblob/authority/sqlitestore"
	"github.com/keyblob/keyblob/password"
)

// EnvServer is the environment variable that makes a process a server:
// it holds the ServerConfig as JSON.
const EnvServer = "KEYBLOB_AUTHORITYTEST_SERVER"

// ServerConfig is what a server process serves.
type ServerConfig struct {
	// DB is "sqlite:PATH" or a postgres:// connection string.
	DB string
	// Identity is the path of the authority identity's PEM file.
	Identity string
	// Listen is the address to listen on; empty means 127.0.0.1:0, a
	// free port. It must be on 127.0.0.1 or ::1.
	Listen string
	// AddrFile is where the server writes its address (HOST:PORT) once it
	// listens; it is replaced atomically.
	AddrFile string
	// Argon2 are the verifiers' parameters; the zero value is
	// password.Defaults().
	Argon2 password.Params
	// SourceRate is the handler's per-source limit
	// (authority.HandlerOptions): every client of a test or benchmark
	// runs on 127.0.0.1, one source, so 0 here means no limit.
	SourceRate float64
}

// ServeIfHelper serves, and exits, if the environment holds EnvServer;
// otherwise it returns at once. Errors go to stderr with exit status 1.
func ServeIfHelper() {
	raw, ok := os.LookupEnv(EnvServer)
	if !ok {
		return
	}
	var cfg ServerConfig
	err := json.Unmarshal([]byte(raw), &cfg)
	if err == nil {
		err = serve(cfg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "authoritytest server:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// openStore opens the store cfg.DB names.
func openStore(ctx context.Context, db string) (authority.Store, error) {
	if path, ok := strings.CutPrefix(db, "sqlite:"); ok {
		return sqlitestore.Open(path)
	}
	if strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://") {
		return pgstore.Open(ctx, db)
	}
	return nil, errors.New("the store must be sqlite:PATH or a postgres:// URL")
}

// serve runs the server of cfg until SIGTERM or SIGINT.
func serve(cfg ServerConfig) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	pem, err := os.ReadFile(cfg.Identity)
	if err != nil {
		return err
	}
	id, err := keyblob.ParseIdentity(pem)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer st.Close()
	svc, err := authority.New(&authority.Config{Store: st, Identity: id, Argon2: cfg.Argon2})
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv := &http.Server{Handler: authority.NewHandler(svc, &authority.HandlerOptions{Logger: logger, SourceRate: sourceRate(cfg.SourceRate)}),
		ReadHeaderTimeout: 10 * time.Second}
	l, err := listen(cfg.Listen)
	if err != nil {
		return err
	}
	if err := writeAddr(cfg.AddrFile, l.Addr().String()); err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// writeAddr writes addr to path through a temporary file and a rename,
// so that a reader never sees part of it.
func writeAddr(path, addr string) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(addr), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// WriteIdentity writes id's PEM to path, mode 0600, for a ServerConfig.
func WriteIdentity(path string, id *keyblob.Identity) error {
	pem, err := id.MarshalPEM()
	if err != nil {
		return err
	}
	return os.WriteFile(path, pem, 0o600)
}

// listen listens on addr, which must be a loopback address.
func listen(addr string) (net.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("a test server listens on 127.0.0.1 or ::1 only, not %s", host)
	}
	return net.Listen("tcp", addr)
}

// sourceRate is the handler's SourceRate for a ServerConfig's: none for 0.
func sourceRate(r float64) float64 {
	if r == 0 {
		return -1
	}
	return r
}
