package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestStart starts a cluster, makes two databases in it and checks that
// they are real, separate and reachable only with the password.
func TestStart(t *testing.T) {
	c := Start(t)
	ctx := context.Background()
	a, b := c.NewDatabase(t), c.NewDatabase(t)
	if a == b {
		t.Fatal("two databases with one DSN")
	}
	conn, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var version, addr string
	if err := conn.QueryRow(ctx, `SELECT current_setting('server_version'), host(inet_server_addr())`).Scan(&version, &addr); err != nil {
		t.Fatal(err)
	}
	if addr != "127.0.0.1" {
		t.Fatalf("the server listens on %s", addr)
	}
	t.Logf("PostgreSQL %s on %s", version, strings.Split(a, "@")[1])
	if _, err := conn.Exec(ctx, `CREATE TABLE only_in_a (x int)`); err != nil {
		t.Fatal(err)
	}
	other, err := pgx.Connect(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	var n int
	if err := other.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the databases are not separate: %d, %v", n, err)
	}
	wrong := strings.Replace(a, c.password, "not-the-password", 1)
	if conn, err := pgx.Connect(ctx, wrong); err == nil {
		conn.Close(ctx)
		t.Fatal("connected with a wrong password")
	}
}

// recorder is a testing.TB that records Fatalf and Skipf instead of
// stopping.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper()                           {}
func (r *recorder) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }
func (r *recorder) Skipf(format string, args ...any)  { r.skip = fmt.Sprintf(format, args...) }

// TestMissing checks that absent PostgreSQL skips the tests with a
// message, and fails them when KEYBLOB_REQUIRE_POSTGRES is 1.
func TestMissing(t *testing.T) {
	cause := errors.New("no initdb and pg_ctl found")
	t.Setenv("KEYBLOB_REQUIRE_POSTGRES", "")
	r := &recorder{TB: t}
	missing(r, cause)
	if r.fatal != "" || !strings.Contains(r.skip, "skipping the PostgreSQL tests: no initdb") {
		t.Fatalf("without the variable: fatal %q, skip %q", r.fatal, r.skip)
	}
	t.Setenv("KEYBLOB_REQUIRE_POSTGRES", "1")
	r = &recorder{TB: t}
	missing(r, cause)
	if r.skip != "" || !strings.Contains(r.fatal, "PostgreSQL is required (KEYBLOB_REQUIRE_POSTGRES=1)") {
		t.Fatalf("with the variable: fatal %q, skip %q", r.fatal, r.skip)
	}
}

// TestBinDirOverride checks that KEYBLOB_PG_BINDIR is used first when it
// holds the programs, and ignored when it does not.
func TestBinDirOverride(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"initdb", "pg_ctl"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("KEYBLOB_PG_BINDIR", dir)
	if got, err := binDir(); err != nil || got != dir {
		t.Fatalf("binDir = %q, %v, want %q", got, err, dir)
	}
	t.Setenv("KEYBLOB_PG_BINDIR", t.TempDir())
	if got, _ := binDir(); got == dir {
		t.Fatal("binDir used a directory without the programs")
	}
}

func TestShellQuote(t *testing.T) {
	got := shellQuote([]string{"/usr/bin/pg_ctl", "-o", "-c a='b c'", "it's"})
	want := `'/usr/bin/pg_ctl' '-o' '-c a='\''b c'\''' 'it'\''s'`
	if got != want {
		t.Fatalf("shellQuote = %s, want %s", got, want)
	}
}
