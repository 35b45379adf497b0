package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
)

// Backup writes a consistent copy of the database at dbPath to out, which
// must not exist, while the authority may go on serving from it: SQLite's
// VACUUM INTO reads one snapshot, the WAL's pages included, in a
// read-only connection. The copy is 0600 (it holds verifiers and
// deposited blobs), made under a temporary name in out's directory and
// linked to out only when complete, so a failed or interrupted backup
// leaves no partial file under that name.
func Backup(ctx context.Context, dbPath, out string) error {
	if _, err := os.Stat(dbPath); err != nil {
		return fmt.Errorf("the authority database: %w", err)
	}
	if _, err := os.Lstat(out); err == nil {
		return fmt.Errorf("%s already exists", out)
	}
	tmpDir, err := os.MkdirTemp(filepath.Dir(out), ".keyblob-backup-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmpDir)
	tmp := filepath.Join(tmpDir, "copy.db")
	if err := vacuumInto(ctx, dbPath, tmp); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return err
	}
	if err := syncFile(tmp); err != nil {
		return err
	}
	return os.Link(tmp, out) // never replaces out
}

// vacuumInto copies the database with VACUUM INTO over a read-only
// connection.
func vacuumInto(ctx context.Context, dbPath, to string) error {
	abs, err := filepath.Abs(dbPath)
	if err != nil {
		return err
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: "mode=ro&_pragma=busy_timeout(10000)"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, to); err != nil {
		return fmt.Errorf("copying %s: %w", dbPath, err)
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}
