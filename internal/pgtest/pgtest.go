// Package pgtest starts throwaway PostgreSQL clusters for tests: initdb
// and pg_ctl in a new temporary directory, the server listening on a
// free port of 127.0.0.1 only, with a random password, stopped and
// removed when the test ends. It is for tests only.
//
// The PostgreSQL programs are looked for, in order, in $KEYBLOB_PG_BINDIR,
// in `pg_config --bindir`, in Debian's /usr/lib/postgresql/VERSION/bin
// (the highest version), and on $PATH. Without them, Start skips the
// test with a message saying so, unless $KEYBLOB_REQUIRE_POSTGRES is 1
// (as CI sets it), in which case the test fails: a CI run must not pass
// by skipping the PostgreSQL tests.
//
// initdb refuses to run as root, so as root the programs run as the
// "postgres" user (which Debian's postgresql package creates) through
// runuser, or su where there is no runuser, and the directory is given
// to that user.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cluster is a running throwaway cluster.
type Cluster struct {
	dir      string // the temporary directory: data/, the log, the socket
	port     int
	password string
	run      runner
	bin      string
	next     atomic.Int64 // numbers the databases NewDatabase makes
}

// Start starts a cluster for the test, stopped and removed at its end.
// It skips or fails the test, as the package doc says, if PostgreSQL is
// not installed.
func Start(t testing.TB) *Cluster {
	t.Helper()
	bin, err := binDir()
	if err != nil {
		missing(t, err)
	}
	run, err := asServerUser()
	if err != nil {
		missing(t, err)
	}
	c := &Cluster{bin: bin, run: run}
	if err := c.start(t); err != nil {
		t.Fatalf("starting a throwaway PostgreSQL (%s): %v", bin, err)
	}
	return c
}

// missing skips the test, or fails it when PostgreSQL is required.
func missing(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("KEYBLOB_REQUIRE_POSTGRES") == "1" {
		t.Fatalf("PostgreSQL is required (KEYBLOB_REQUIRE_POSTGRES=1) but cannot be run: %v", err)
		return
	}
	t.Skipf("skipping the PostgreSQL tests: %v (install PostgreSQL, e.g. apt-get install postgresql, or set KEYBLOB_PG_BINDIR)", err)
}

// binDir finds the directory of initdb and pg_ctl.
func binDir() (string, error) {
	var candidates []string
	if d := os.Getenv("KEYBLOB_PG_BINDIR"); d != "" {
		candidates = append(candidates, d)
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	debian, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(debian, func(a, b string) int { return versionOf(b) - versionOf(a) })
	candidates = append(candidates, debian...)
	if p, err := exec.LookPath("initdb"); err == nil {
		candidates = append(candidates, filepath.Dir(p))
	}
	for _, d := range candidates {
		if isFile(filepath.Join(d, "initdb")) && isFile(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	return "", errors.New("no initdb and pg_ctl found")
}

// versionOf returns VERSION of /usr/lib/postgresql/VERSION/bin.
func versionOf(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// runner runs a PostgreSQL program as the user that owns the cluster.
type runner struct {
	wrap  func(name string, args []string) *exec.Cmd
	owner *user.User // nil: the current user
}

func asServerUser() (runner, error) {
	if os.Geteuid() != 0 {
		return runner{wrap: func(name string, args []string) *exec.Cmd { return exec.Command(name, args...) }}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return runner{}, fmt.Errorf("running as root, and there is no postgres user to run initdb as: %w", err)
	}
	if ru, err := exec.LookPath("runuser"); err == nil {
		return runner{owner: u, wrap: func(name string, args []string) *exec.Cmd {
			return exec.Command(ru, append([]string{"-u", "postgres", "--", name}, args...)...)
		}}, nil
	}
	su, err := exec.LookPath("su")
	if err != nil {
		return runner{}, errors.New("running as root, with neither runuser nor su to run initdb as postgres")
	}
	return runner{owner: u, wrap: func(name string, args []string) *exec.Cmd {
		return exec.Command(su, "-s", "/bin/sh", "postgres", "-c", shellQuote(append([]string{name}, args...)))
	}}, nil
}

func shellQuote(words []string) string {
	for i, w := range words {
		words[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return strings.Join(words, " ")
}

// give makes path the cluster owner's.
func (r runner) give(path string) error {
	if r.owner == nil {
		return nil
	}
	uid, err1 := strconv.Atoi(r.owner.Uid)
	gid, err2 := strconv.Atoi(r.owner.Gid)
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	return os.Lchown(path, uid, gid)
}

// cmd runs program of the cluster's bin directory as the owner, in dir.
func (c *Cluster) cmd(ctx context.Context, program string, args ...string) error {
	cmd := c.run.wrap(filepath.Join(c.bin, program), args)
	cmd.Dir, cmd.Stdin = c.dir, nil
	cmd.Env = append(os.Environ(), "LC_ALL=C", "PGTZ=UTC")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("%s: %v\n%s", program, err, out)
	}
	return nil
}

func (c *Cluster) start(t testing.TB) error {
	// Not t.TempDir: its parents are readable by the current user only,
	// and the server may run as another.
	dir, err := os.MkdirTemp("", "keyblob-pgtest-")
	if err != nil {
		return err
	}
	c.dir = dir
	t.Cleanup(func() { os.RemoveAll(dir) })
	c.password = randomHex(16)
	pwfile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(c.password+"\n"), 0o600); err != nil {
		return err
	}
	if err := errors.Join(c.run.give(dir), c.run.give(pwfile)); err != nil {
		return err
	}
	ctx := context.Background()
	if err := c.cmd(ctx, "initdb", "-D", filepath.Join(dir, "data"), "-U", "postgres", "-E", "UTF8",
		"--locale=C", "--auth=scram-sha-256", "--pwfile="+pwfile); err != nil {
		return err
	}
	os.Remove(pwfile)
	return c.listen(t)
}

// listen starts the server on a free port, trying again if another
// process took the port first.
func (c *Cluster) listen(t testing.TB) error {
	var err error
	for range 5 {
		if c.port, err = freePort(); err != nil {
			return err
		}
		opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -c unix_socket_directories=%s -c max_connections=200",
			c.port, c.dir)
		if err = c.cmd(context.Background(), "pg_ctl", "start", "-w", "-t", "120", "-D", filepath.Join(c.dir, "data"),
			"-l", filepath.Join(c.dir, "server.log"), "-o", opts); err == nil {
			t.Cleanup(c.stop)
			return nil
		}
		log, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
		err = fmt.Errorf("%w\nserver log:\n%s", err, log)
	}
	return err
}

// stop stops the server at once: the data is thrown away anyway.
func (c *Cluster) stop() {
	c.cmd(context.Background(), "pg_ctl", "stop", "-m", "immediate", "-w", "-D", filepath.Join(c.dir, "data"))
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// DSN returns the connection string of database name.
func (c *Cluster) DSN(name string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword("postgres", c.password),
		Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)), Path: "/" + name, RawQuery: "sslmode=disable"}
	return u.String()
}

// NewDatabase creates a new, empty database in the cluster and returns
// its connection string.
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.DSN("postgres"))
	if err != nil {
		t.Fatalf("connecting to the throwaway PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("test_%d", c.next.Add(1))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("creating database %s: %v", name, err)
	}
	return c.DSN(name)
}
