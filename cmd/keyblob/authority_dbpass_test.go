package main

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/keyblob/keyblob/internal/pgtest"
)

// clearPGEnv makes the test independent of the PostgreSQL environment
// of whoever runs it: no PGPASSWORD, and a PGPASSFILE that does not
// exist (not ~/.pgpass).
func clearPGEnv(t *testing.T) {
	t.Helper()
	t.Setenv("PGPASSWORD", "")
	os.Unsetenv("PGPASSWORD")
	t.Setenv("PGPASSFILE", filepath.Join(t.TempDir(), "none"))
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPostgresDSN checks that the password of --db-password-file
// reaches pgx exactly, whatever it holds and whatever the URL's form,
// that it wins over PGPASSWORD, and that the rest of the URL means the
// same.
func TestPostgresDSN(t *testing.T) {
	clearPGEnv(t)
	t.Setenv("PGPASSWORD", "from-the-environment")
	for _, u := range []string{
		"postgres://keyblob@127.0.0.1:5432/escrow",
		"postgresql://keyblob@127.0.0.1/escrow?sslmode=disable",
		"postgres://keyblob@127.0.0.1/escrow?sslmode=disable&",
		"postgres://keyblob@127.0.0.1/escrow?",
		"postgres://keyblob@h1:5432,h2:5433/escrow?target_session_attrs=any",
		"postgres:///escrow?host=/run/postgresql",
	} {
		for _, pw := range []string{"s3cret", "p@ss w&rd=+%/?#:;'\"\\", "é☃"} {
			file := writeTemp(t, "pw", pw+"\n")
			v := dbValue{url: u, passwordFile: file}
			dsn, err := v.postgresDSN()
			if err != nil {
				t.Fatalf("%s: %v", u, err)
			}
			got, err := pgconn.ParseConfig(dsn)
			if err != nil {
				t.Fatalf("pgx does not parse the URL made of %s: %v", u, err)
			}
			want, err := pgconn.ParseConfig(u)
			if err != nil {
				t.Fatal(err)
			}
			if got.Password != pw || got.Host != want.Host || got.Port != want.Port || got.Database != want.Database || got.User != want.User {
				t.Errorf("%s with password %q: pgx reads %s@%s:%d/%s password %q", u, pw, got.User, got.Host, got.Port, got.Database, got.Password)
			}
		}
	}
}

// TestPostgresDSNRefused checks that a URL that holds a password is
// refused with --db-password-file, and so are password files that are
// not one line.
func TestPostgresDSNRefused(t *testing.T) {
	file := writeTemp(t, "pw", "s3cret\n")
	for _, u := range []string{
		"postgres://keyblob:other@127.0.0.1/escrow",
		"postgres://127.0.0.1/escrow?password=other",
		"postgres://127.0.0.1/escrow?sslmode=disable&pass%77ord=other",
		"postgres://127.0.0.1/escrow?pass%zzword=other",
	} {
		v := dbValue{url: u, passwordFile: file}
		var usage *usageError
		if _, err := v.postgresDSN(); !errors.As(err, &usage) {
			t.Errorf("%s with --db-password-file: %v, want a usage error", u, err)
		}
	}
	for _, content := range []string{"", "\n", "two\nlines\n", "s3cret\n\n", "nul\x00\n", "cr\rinside", strings.Repeat("a", maxDBPassword+1)} {
		v := dbValue{url: "postgres://127.0.0.1/escrow", passwordFile: writeTemp(t, "pw", content)}
		dsn, err := v.postgresDSN()
		if err == nil {
			t.Errorf("password file %q accepted", content)
		} else if len(content) > 3 && strings.Contains(err.Error()+dsn, strings.TrimSpace(content)) {
			t.Errorf("the error shows the file's content: %v", err)
		}
	}
	for _, content := range []string{"s3cret", "s3cret\n", "s3cret\r\n"} {
		v := dbValue{url: "postgres://127.0.0.1/escrow", passwordFile: writeTemp(t, "pw", content)}
		if dsn, err := v.postgresDSN(); err != nil || dsn != "postgres://127.0.0.1/escrow?password=s3cret" {
			t.Errorf("password file %q: %q, %v", content, dsn, err)
		}
	}
}

// TestPGEnvironmentPassword checks what the documentation says of pgx:
// when the URL has no password, it takes PGPASSWORD, else the matching
// line of PGPASSFILE.
func TestPGEnvironmentPassword(t *testing.T) {
	const u = "postgres://keyblob@127.0.0.1:5432/escrow"
	clearPGEnv(t)
	t.Setenv("PGPASSFILE", writeTemp(t, "pgpass", "127.0.0.1:5432:escrow:keyblob:from-the-passfile\n"))
	cfg, err := pgconn.ParseConfig(u)
	if err != nil || cfg.Password != "from-the-passfile" {
		t.Errorf("PGPASSFILE: password %q, %v", cfg.Password, err)
	}
	t.Setenv("PGPASSWORD", "from-the-environment")
	cfg, err = pgconn.ParseConfig(u)
	if err != nil || cfg.Password != "from-the-environment" {
		t.Errorf("PGPASSWORD: password %q, %v", cfg.Password, err)
	}
}

// TestDBPasswordFile opens a real PostgreSQL database (a throwaway
// cluster; skipped where PostgreSQL is not installed) with a URL that
// holds no password: audit verify fails without one, and works with
// --db-password-file or PGPASSWORD.
func TestDBPasswordFile(t *testing.T) {
	clearPGEnv(t)
	full, err := url.Parse(pgtest.Start(t).NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := full.User.Password()
	full.User = url.User(full.User.Username())
	bare, dir := full.String(), t.TempDir()
	verify := []string{"authority", "audit", "verify", "--dir", dir, "--db", bare}
	if code, _, stderr := runCmd(t, verify...); code != 1 || strings.Contains(stderr, pw) {
		t.Errorf("audit verify with no password: exit %d\n%s", code, stderr)
	}
	out := mustRun(t, append(verify, "--db-password-file", writeTemp(t, "pw", pw+"\n"))...)
	if !strings.Contains(out, "the audit log verifies: 0 entries") {
		t.Errorf("audit verify with --db-password-file: %s", out)
	}
	t.Setenv("PGPASSWORD", pw)
	mustRun(t, verify...)
}
