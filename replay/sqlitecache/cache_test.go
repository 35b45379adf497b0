package sqlitecache

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyblob/keyblob/replay"
)

var (
	id1 = bytes.Repeat([]byte{0xa1}, replay.IDSize)
	id2 = bytes.Repeat([]byte{0xb0}, replay.IDSize)
	id3 = bytes.Repeat([]byte{0x07}, replay.IDSize)
	id4 = bytes.Repeat([]byte{0x4d}, replay.IDSize)
	t0  = time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
)

// openCache opens a cache in a new directory and closes it with the test.
func openCache(t *testing.T, path string) *Cache {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "replay.db")
	}
	c, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func wantErr(t *testing.T, what string, got, want error) {
	t.Helper()
	switch {
	case want == nil && got != nil:
		t.Fatalf("%s = %v, want nil", what, got)
	case want != nil && !errors.Is(got, want):
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func TestCacheRecordCheck(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		recorded [][]byte
		check    []byte
		want     error
	}{
		{"empty cache", nil, id1, nil},
		{"recorded id", [][]byte{id1}, id1, replay.ErrReplay},
		{"other id", [][]byte{id1}, id2, nil},
		{"one of several", [][]byte{id3, id2, id1}, id2, replay.ErrReplay},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := openCache(t, "")
			for _, id := range tt.recorded {
				wantErr(t, "Record", c.Record(ctx, id, t0), nil)
			}
			// Check records nothing: twice gives the same answer.
			for range 2 {
				wantErr(t, "Check", c.Check(ctx, tt.check, t0), tt.want)
			}
			wantErr(t, "Record", c.Record(ctx, tt.check, t0), tt.want)
			// Whatever happened, the id is now accepted once.
			wantErr(t, "Record again", c.Record(ctx, tt.check, t0), replay.ErrReplay)
			wantErr(t, "Check again", c.Check(ctx, tt.check, t0), replay.ErrReplay)
		})
	}
}

// TestCacheIDSize checks that only identifiers of replay.IDSize bytes are taken:
// a short one (a bare serial, say) is an error, and is not recorded.
func TestCacheIDSize(t *testing.T) {
	ctx := context.Background()
	c := openCache(t, "")
	for _, id := range [][]byte{nil, id1[:16], id1[:replay.IDSize-1], append(id1[:replay.IDSize:replay.IDSize], 0)} {
		if err := c.Check(ctx, id, t0); err == nil || errors.Is(err, replay.ErrReplay) {
			t.Errorf("Check of a %d-byte id = %v, want a size error", len(id), err)
		}
		if err := c.Record(ctx, id, t0); err == nil || errors.Is(err, replay.ErrReplay) {
			t.Errorf("Record of a %d-byte id = %v, want a size error", len(id), err)
		}
	}
	if n := count(t, c); n != 0 {
		t.Fatalf("%d ids recorded, want 0", n)
	}
}

func TestCacheRecordTwice(t *testing.T) {
	ctx := context.Background()
	c := openCache(t, "")
	wantErr(t, "first Record", c.Record(ctx, id1, t0), nil)
	// The creation time is not part of the key: a replay with another
	// claimed time is still a replay.
	for _, created := range []time.Time{t0, t0.Add(time.Hour), t0.Add(-time.Hour)} {
		wantErr(t, fmt.Sprintf("Record at %s", created), c.Record(ctx, id1, created), replay.ErrReplay)
	}
}

func TestCacheSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "replay.db")
	c, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, "Record", c.Record(ctx, id1, t0), nil)
	wantErr(t, "Purge", c.Purge(ctx, t0.Add(-time.Hour)), nil)
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	c = openCache(t, path)
	wantErr(t, "Check after reopen", c.Check(ctx, id1, t0), replay.ErrReplay)
	wantErr(t, "Record after reopen", c.Record(ctx, id1, t0), replay.ErrReplay)
	wantErr(t, "Check of an older message after reopen", c.Check(ctx, id3, t0.Add(-2*time.Hour)), replay.ErrTooOld)
	wantErr(t, "Record of another id", c.Record(ctx, id2, t0), nil)
}

// count returns the number of remembered ids.
func count(t *testing.T, c *Cache) int {
	t.Helper()
	var n int
	if err := c.db.QueryRow(`SELECT count(*) FROM accepted`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCachePurge(t *testing.T) {
	ctx := context.Background()
	c := openCache(t, "")
	old, recent := t0.Add(-48*time.Hour), t0.Add(-time.Hour)
	wantErr(t, "Record old", c.Record(ctx, id1, old), nil)
	wantErr(t, "Record recent", c.Record(ctx, id3, recent), nil)
	if n := count(t, c); n != 2 {
		t.Fatalf("%d ids before Purge, want 2", n)
	}

	horizon := t0.Add(-24 * time.Hour)
	wantErr(t, "Purge", c.Purge(ctx, horizon), nil)
	if n := count(t, c); n != 1 {
		t.Fatalf("%d ids after Purge, want 1 (the old one forgotten)", n)
	}
	// The recent id is still remembered.
	wantErr(t, "Check recent", c.Check(ctx, id3, recent), replay.ErrReplay)

	// The old id is forgotten, yet it cannot be accepted again: the
	// cache refuses what it can no longer vouch for, even though the
	// caller's window (no MaxAge) accepts it.
	if err := (replay.Window{}).Check(old, t0); err != nil {
		t.Fatalf("the caller's window refuses the old message: %v", err)
	}
	wantErr(t, "Check old (forgotten)", c.Check(ctx, id1, old), replay.ErrTooOld)
	wantErr(t, "Record old (forgotten)", c.Record(ctx, id1, old), replay.ErrTooOld)
	if n := count(t, c); n != 1 {
		t.Fatalf("a refused Record added an id: %d ids", n)
	}
	// Any message from before the horizon, seen or not.
	wantErr(t, "Record new id before the horizon", c.Record(ctx, id2, horizon.Add(-time.Second)), replay.ErrTooOld)
	// The horizon itself is still vouched for (to the second).
	wantErr(t, "Record at the horizon", c.Record(ctx, id2, horizon), nil)
	wantErr(t, "Record after the horizon", c.Record(ctx, id4, horizon.Add(time.Second)), nil)
	wantErr(t, "Record at the horizon, again", c.Record(ctx, id2, horizon), replay.ErrReplay)

	// The horizon only moves forward: purging with an earlier time keeps it.
	wantErr(t, "Purge earlier", c.Purge(ctx, t0.AddDate(-1, 0, 0)), nil)
	wantErr(t, "Check old after an earlier Purge", c.Check(ctx, id1, old), replay.ErrTooOld)
	wantErr(t, "Check just before the horizon", c.Check(ctx, bytes.Repeat([]byte{0x99}, replay.IDSize), horizon.Add(-time.Second)), replay.ErrTooOld)
	wantErr(t, "Check recent after an earlier Purge", c.Check(ctx, id3, recent), replay.ErrReplay)

	// And forward it moves.
	wantErr(t, "Purge later", c.Purge(ctx, t0), nil)
	if n := count(t, c); n != 0 {
		t.Fatalf("%d ids after purging everything, want 0", n)
	}
	wantErr(t, "Check recent after Purge later", c.Check(ctx, id3, recent), replay.ErrTooOld)
	wantErr(t, "Record at the new horizon", c.Record(ctx, id3, t0), nil)
}

func TestCachePurgeErrorText(t *testing.T) {
	ctx := context.Background()
	c := openCache(t, "")
	wantErr(t, "Purge", c.Purge(ctx, t0), nil)
	err := c.Check(ctx, id1, t0.Add(-time.Minute))
	wantErr(t, "Check", err, replay.ErrTooOld)
	if !strings.Contains(err.Error(), t0.Format(time.RFC3339)) {
		t.Errorf("error %q does not tell the horizon %s", err, t0.Format(time.RFC3339))
	}
}

func TestCacheConcurrentGoroutines(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "replay.db")
	const n = 16
	start := make(chan struct{})
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			// Each its own Cache, opened concurrently on a new file.
			c, err := Open(path)
			if err != nil {
				errs[i] = fmt.Errorf("Open: %w", err)
				return
			}
			defer c.Close()
			errs[i] = c.Record(ctx, id1, t0)
		})
	}
	close(start)
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, replay.ErrReplay):
			t.Errorf("goroutine %d: %v (want nil or replay.ErrReplay)", i, err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d Records succeeded, want exactly 1", ok, n)
	}
}

func TestCacheFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "keyblob")
	path := filepath.Join(dir, "replay.db")
	c := openCache(t, path)
	if err := c.Record(context.Background(), id1, t0); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{filepath.Dir(dir), dir} {
		st, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != 0o700 {
			t.Errorf("directory %s has mode %#o, want 0700", d, got)
		}
	}
	// The database and its WAL files while open.
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(name)
		if errors.Is(err, os.ErrNotExist) && name != path {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != 0o600 {
			t.Errorf("%s has mode %#o, want 0600", filepath.Base(name), got)
		}
	}
}

// TestCacheOddPath checks that the cache is the file named, whatever
// characters the path holds: they must not be read as URI syntax.
func TestCacheOddPath(t *testing.T) {
	ctx := context.Background()
	// Subtests are numbered: their names go into t.TempDir's path.
	for i, name := range []string{"a#b", "a?b", "a%41b", "a b", "a:b", "a&_pragma=query_only(1)", "?#%"} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			top := t.TempDir()
			path := filepath.Join(top, name, "replay.db")
			c, err := Open(path)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			wantErr(t, "Record", c.Record(ctx, id1, t0), nil)
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			entries, err := os.ReadDir(top)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 || entries[0].Name() != name {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Fatalf("the directory holds %q, want only %q", names, name)
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Size() == 0 {
				t.Fatalf("%s is empty: the database was written elsewhere", path)
			}
			c = openCache(t, path)
			wantErr(t, "Check after reopen", c.Check(ctx, id1, t0), replay.ErrReplay)
		})
	}
}

func TestCacheRelativePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	ctx := context.Background()
	c := openCache(t, "replay.db")
	wantErr(t, "Record", c.Record(ctx, id1, t0), nil)
	if st, err := os.Stat(filepath.Join(dir, "replay.db")); err != nil || st.Size() == 0 {
		t.Fatalf("replay.db in the working directory: %v", err)
	}
}

func TestCacheCorrupt(t *testing.T) {
	ctx := context.Background()
	random := make([]byte, 8192)
	for i := range random {
		random[i] = byte(i*7 + i>>8)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"text", []byte("this is not a database\n")},
		{"random", random},
		{"bad SQLite header", append([]byte("SQLite format 3\x00"), random[:4096]...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "replay.db")
			if err := os.WriteFile(path, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Open(path)
			if err == nil {
				// If opening is lazy, the first use must fail.
				defer c.Close()
				err = c.Record(ctx, id1, t0)
			}
			if err == nil {
				t.Fatal("a corrupt database accepted a Record")
			}
			// Library errors carry no package prefix (docs/architecture.md).
			if strings.HasPrefix(err.Error(), "replay: ") || strings.HasPrefix(err.Error(), "sqlitecache: ") {
				t.Errorf("error %q starts with a package prefix", err)
			}
		})
	}
}

// TestCacheForeignDatabase opens a valid SQLite database with another
// "accepted" table: an error, never an accepted message.
func TestCacheForeignDatabase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "replay.db")
	c := openCache(t, path)
	if _, err := c.db.Exec(`DROP TABLE accepted; CREATE TABLE accepted (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	c.Close()
	c, err := Open(path)
	if err != nil {
		return // refused at once
	}
	defer c.Close()
	if err := c.Check(ctx, id1, t0); err == nil {
		t.Error("Check succeeded on a foreign table")
	}
	if err := c.Record(ctx, id1, t0); err == nil {
		t.Error("Record succeeded on a foreign table")
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		filepath.Join(file, "replay.db"), // a file where a directory must be
		dir,                              // a directory where the file must be
	} {
		c, err := Open(path)
		if err == nil {
			c.Close()
			t.Errorf("Open(%s) succeeded", path)
		}
	}
}

// childEnv names the database a child process of TestCacheProcesses
// records into.
const childEnv = "REPLAY_TEST_CHILD_DB"

// TestCacheChildProcess is the child of TestCacheProcesses: it waits for
// its stdin to close, then Records one id and exits 0 if it was
// accepted, 1 if it was a replay, 2 on any other error.
func TestCacheChildProcess(t *testing.T) {
	path := os.Getenv(childEnv)
	if path == "" {
		return
	}
	io.Copy(io.Discard, os.Stdin)
	c, err := Open(path)
	if err == nil {
		err = c.Record(context.Background(), id1, t0)
		c.Close()
	}
	switch {
	case err == nil:
		os.Exit(0)
	case errors.Is(err, replay.ErrReplay):
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, err)
	os.Exit(2)
}

func TestCacheProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 8 processes")
	}
	path := filepath.Join(t.TempDir(), "replay.db")
	const n = 8
	cmds := make([]*exec.Cmd, n)
	stdins := make([]io.WriteCloser, n)
	stderrs := make([]bytes.Buffer, n)
	for i := range cmds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCacheChildProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), childEnv+"="+path)
		cmd.Stderr = &stderrs[i]
		var err error
		if stdins[i], err = cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[i] = cmd
	}
	// All started: let them go at once.
	for _, w := range stdins {
		w.Close()
	}
	ok := 0
	for i, cmd := range cmds {
		err := cmd.Wait()
		code := cmd.ProcessState.ExitCode()
		switch {
		case err == nil:
			ok++
		case code == 1 && strings.Contains(stderrs[i].String(), "replay"):
		default:
			t.Errorf("child %d: %v: %s", i, err, stderrs[i].String())
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d processes recorded the id, want exactly 1", ok, n)
	}
	// And it stays recorded.
	c := openCache(t, path)
	wantErr(t, "Check after the processes", c.Check(context.Background(), id1, t0), replay.ErrReplay)
}

// TestCacheWAL checks the journal mode: WAL lets Checks read while
// another process Records.
func TestCacheWAL(t *testing.T) {
	c := openCache(t, "")
	var mode string
	if err := c.db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal mode %q, want wal", mode)
	}
}

// TestCacheOldSchema opens a database of the unreleased first schema,
// keyed by (sender, serial): a clear ErrSchema, and the file is left as
// it was, never quietly reused or recreated.
func TestCacheOldSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "replay.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE seen (sender BLOB NOT NULL, serial BLOB NOT NULL, created INTEGER NOT NULL,
		PRIMARY KEY (sender, serial)) WITHOUT ROWID;
		INSERT INTO seen VALUES (x'00', x'01', 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, version := range []int{0, schemaVersion + 1} {
		if version != 0 {
			setUserVersion(t, path, version)
		}
		c, err := Open(path)
		if err == nil {
			c.Close()
			t.Fatalf("user_version %d: Open succeeded", version)
		}
		if !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), path) {
			t.Errorf("user_version %d: Open = %v, want ErrSchema naming the file", version, err)
		}
	}
}

func setUserVersion(t *testing.T, path string, v int) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, v)); err != nil {
		t.Fatal(err)
	}
}
