package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func openDB(t *testing.T, path string, opts *Options) *sql.DB {
	t.Helper()
	db, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestSettings checks the package doc's settings on several connections
// of the pool at once: every connection has them, not only the first.
func TestSettings(t *testing.T) {
	for _, memoryTemp := range []bool{false, true} {
		t.Run(fmt.Sprintf("MemoryTemp=%v", memoryTemp), func(t *testing.T) { testSettings(t, memoryTemp) })
	}
}

func testSettings(t *testing.T, memoryTemp bool) {
	db := openDB(t, filepath.Join(t.TempDir(), "x.db"), &Options{MemoryTemp: memoryTemp})
	ctx := context.Background()
	var conns []*sql.Conn
	for range 3 {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	tests := []struct{ pragma, want string }{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL
		{"busy_timeout", fmt.Sprint(BusyTimeout.Milliseconds())},
		{"temp_store", map[bool]string{false: "0", true: "2"}[memoryTemp]}, // DEFAULT or MEMORY
	}
	for i, c := range conns {
		for _, tt := range tests {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+tt.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("connection %d: PRAGMA %s = %s, want %s", i, tt.pragma, got, tt.want)
			}
		}
	}
}

// createOnce is an Init that creates a table in a new database only.
func createOnce(tx *sql.Tx) error {
	var n int
	if err := tx.QueryRow(`SELECT count(*) FROM sqlite_schema`).Scan(&n); err != nil || n > 0 {
		return err
	}
	_, err := tx.Exec(`CREATE TABLE t (x INTEGER PRIMARY KEY)`)
	return err
}

// TestConcurrentOpen opens one new file from many goroutines at once,
// each with its own pool: all succeed, and Init sees a consistent
// database (it creates the table once, without an error).
func TestConcurrentOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	const n = 12
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			db, err := Open(path, &Options{Init: createOnce})
			if err == nil {
				_, err = db.Exec(`INSERT INTO t (x) VALUES ($1)`, i)
				db.Close()
			}
			errs[i] = err
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("goroutine %d: %v", i, err)
		}
	}
	var rows int
	if err := openDB(t, path, nil).QueryRow(`SELECT count(*) FROM t`).Scan(&rows); err != nil || rows != n {
		t.Errorf("%d rows (%v), want %d", rows, err, n)
	}
}

// TestInitError checks that Init's error comes back as it is, for the
// caller to inspect, and that nothing Init did is committed.
func TestInitError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	errRefused := errors.New("not our schema")
	init := func(tx *sql.Tx) error {
		if _, err := tx.Exec(`CREATE TABLE t (x INTEGER)`); err != nil {
			return err
		}
		return fmt.Errorf("checking: %w", errRefused)
	}
	if db, err := Open(path, &Options{Init: init}); !errors.Is(err, errRefused) {
		if db != nil {
			db.Close()
		}
		t.Fatalf("Open = %v, want the Init error", err)
	}
	var n int
	if err := openDB(t, path, nil).QueryRow(`SELECT count(*) FROM sqlite_schema`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d tables (%v) after a failed Init, want 0", n, err)
	}
}

// TestPaths checks the modes of what Open creates, and that the database
// is the file named whatever characters the path holds: they must not be
// read as URI syntax.
func TestPaths(t *testing.T) {
	for i, name := range []string{"plain", "a#b", "a?b", "a%41b", "a b", "a&_pragma=query_only(1)"} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			top := t.TempDir()
			path := filepath.Join(top, name, "sub", "x.db")
			db := openDB(t, path, &Options{Init: createOnce})
			if _, err := db.Exec(`INSERT INTO t (x) VALUES (1)`); err != nil {
				t.Fatalf("insert: %v", err)
			}
			for _, d := range []string{filepath.Join(top, name), filepath.Dir(path)} {
				wantMode(t, d, 0o700)
			}
			wantMode(t, path, 0o600)
			entries, err := os.ReadDir(top)
			if err != nil || len(entries) != 1 || entries[0].Name() != name {
				t.Fatalf("the directory holds %v (%v), want only %q", entries, err, name)
			}
		})
	}
}

func wantMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != want {
		t.Errorf("%s has mode %#o, want %#o", path, got, want)
	}
}

// TestOpenErrors: a path that cannot be a database file is an error.
func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(file, "x.db"), dir} {
		if db, err := Open(path, nil); err == nil {
			db.Close()
			t.Errorf("Open(%s) succeeded", path)
		}
	}
}
