package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/keyblob/keyblob/authority/internal/sqlstore"
	"github.com/keyblob/keyblob/internal/sqlitedb"
)

// testCommitter returns a committer on a new database with one table,
// kv, stopped at the end of the test.
func testCommitter(t *testing.T) (*committer, *sql.DB) {
	t.Helper()
	db, err := sqlitedb.Open(filepath.Join(t.TempDir(), "commit.db"), &sqlitedb.Options{Init: func(tx *sql.Tx) error {
		_, err := tx.Exec(`CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL)`)
		return err
	}})
	if err != nil {
		t.Fatal(err)
	}
	c := newCommitter(db, newStmts(db))
	t.Cleanup(func() { c.stop(); db.Close() })
	return c, db
}

// insert returns a write that inserts key, then fails with fail if set.
func insert(key string, fail error) func(sqlstore.Tx) error {
	return func(tx sqlstore.Tx) error {
		if _, err := tx.Exec(context.Background(), `INSERT INTO kv (k, v) VALUES ($1, 1)`, key); err != nil {
			return err
		}
		return fail
	}
}

// keys returns the keys committed, in order.
func keys(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT k FROM kv ORDER BY k`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		out = append(out, k)
	}
	return out
}

// hold makes the committer run a write that blocks until the returned
// function is called, so that the writes queued meanwhile form the next
// batch.
func hold(t *testing.T, c *committer) (release func()) {
	t.Helper()
	started, unblock := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- c.Write(context.Background(), func(tx sqlstore.Tx) error {
			close(started)
			<-unblock
			return insert("held", nil)(tx)
		})
	}()
	<-started
	return func() {
		close(unblock)
		if err := <-done; err != nil {
			t.Errorf("the held write: %v", err)
		}
	}
}

// waitQueued waits until n writes are in the committer's queue.
func waitQueued(t *testing.T, c *committer, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); len(c.queue) < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued, want %d", len(c.queue), n)
		}
	}
}

// writeAll starts the writes at once and returns their outcomes, once
// they are all queued and the returned function has been called.
func writeAll(t *testing.T, c *committer, ctxs []context.Context, fs []func(sqlstore.Tx) error) (release func() []error) {
	t.Helper()
	r := hold(t, c)
	errs := make([]error, len(fs))
	var wg sync.WaitGroup
	for i, f := range fs {
		wg.Go(func() { errs[i] = c.Write(ctxs[i], f) })
		waitQueued(t, c, i+1) // in this order
	}
	return func() []error {
		r()
		wg.Wait()
		return errs
	}
}

func background(n int) []context.Context {
	return slices.Repeat([]context.Context{context.Background()}, n)
}

// TestGroupCommitOutcomes commits a batch in which some writes fail:
// each caller gets its own outcome, and only the successful writes'
// changes are kept.
func TestGroupCommitOutcomes(t *testing.T) {
	c, db := testCommitter(t)
	refused := errors.New("refused")
	fs := []func(sqlstore.Tx) error{
		insert("a", nil), insert("b", refused), insert("c", nil),
		insert("a", nil), // a duplicate key: the statement fails
		insert("d", nil), insert("e", refused),
	}
	errs := writeAll(t, c, background(len(fs)), fs)()
	want := []error{nil, refused, nil, nil, nil, refused}
	for i, err := range errs {
		switch {
		case i == 3 && err == nil:
			t.Errorf("write %d (a duplicate key) succeeded", i)
		case i != 3 && !errors.Is(err, want[i]):
			t.Errorf("write %d: %v, want %v", i, err, want[i])
		}
	}
	if got := keys(t, db); !slices.Equal(got, []string{"a", "c", "d", "held"}) {
		t.Fatalf("committed %q", got)
	}
}

// TestGroupCommitCancelled cancels a write while it waits: it returns
// its ctx's error and never runs; the others in its batch do.
func TestGroupCommitCancelled(t *testing.T) {
	c, db := testCommitter(t)
	ctx, cancel := context.WithCancel(context.Background())
	ctxs := []context.Context{context.Background(), ctx, context.Background()}
	release := writeAll(t, c, ctxs, []func(sqlstore.Tx) error{insert("a", nil), insert("b", nil), insert("c", nil)})
	cancel()
	errs := release()
	if errs[0] != nil || !errors.Is(errs[1], context.Canceled) || errs[2] != nil {
		t.Fatalf("outcomes %v, want nil, context.Canceled, nil", errs)
	}
	if got := keys(t, db); !slices.Equal(got, []string{"a", "c", "held"}) {
		t.Fatalf("committed %q", got)
	}
	cancelled, stop := context.WithCancel(context.Background())
	stop()
	// Queued or not, taken or not, a write cancelled before it runs does
	// not run.
	if err := c.Write(cancelled, insert("x", nil)); !errors.Is(err, context.Canceled) || slices.Contains(keys(t, db), "x") {
		t.Fatalf("a write with a cancelled ctx: %v", err)
	}
}

// TestGroupCommitBroken ends the shared transaction from inside a write,
// as SQLite does after a full disk or an I/O error: no write of the batch
// keeps its changes, all report an error, and later batches work.
func TestGroupCommitBroken(t *testing.T) {
	c, db := testCommitter(t)
	rollback := func(tx sqlstore.Tx) error {
		_, err := tx.Exec(context.Background(), `ROLLBACK`)
		return err
	}
	errs := writeAll(t, c, background(3), []func(sqlstore.Tx) error{insert("a", nil), rollback, insert("c", nil)})()
	for i, err := range errs {
		if err == nil {
			t.Errorf("write %d of a broken batch succeeded", i)
		}
	}
	if got := keys(t, db); !slices.Equal(got, []string{"held"}) {
		t.Fatalf("committed %q after a broken batch", got)
	}
	if err := c.Write(context.Background(), insert("d", nil)); err != nil {
		t.Fatalf("a write after a broken batch: %v", err)
	}
	if got := keys(t, db); !slices.Equal(got, []string{"d", "held"}) {
		t.Fatalf("committed %q", got)
	}
}

// TestGroupCommitStop stops the committer with writes waiting: they, and
// writes after it, return errClosed, and none runs.
func TestGroupCommitStop(t *testing.T) {
	c, db := testCommitter(t)
	release := writeAll(t, c, background(2), []func(sqlstore.Tx) error{insert("a", nil), insert("b", nil)})
	stopped := make(chan struct{})
	go func() { c.stop(); close(stopped) }()
	for !isClosed(c.quit) {
		time.Sleep(time.Millisecond)
	}
	errs := release()
	<-stopped
	for i, err := range errs {
		// A write the committer took before it saw the stop may have run.
		if err != nil && !errors.Is(err, errClosed) {
			t.Errorf("write %d: %v, want nil or errClosed", i, err)
		}
		if key := string(rune('a' + i)); (err == nil) != slices.Contains(keys(t, db), key) {
			t.Errorf("write %d: %v, but %q committed: %v", i, err, key, keys(t, db))
		}
	}
	if err := c.Write(context.Background(), insert("x", nil)); !errors.Is(err, errClosed) {
		t.Fatalf("a write after stop: %v", err)
	}
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// TestGroupCommitConcurrent runs many writes from many goroutines: every
// successful one is committed, every failed one is not.
func TestGroupCommitConcurrent(t *testing.T) {
	c, db := testCommitter(t)
	const n = 400
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		var fail error
		if i%5 == 0 {
			fail = fmt.Errorf("write %d refused", i)
		}
		wg.Go(func() { errs[i] = c.Write(context.Background(), insert(fmt.Sprintf("k%03d", i), fail)) })
	}
	wg.Wait()
	var want []string
	for i, err := range errs {
		if (err != nil) != (i%5 == 0) {
			t.Fatalf("write %d: %v", i, err)
		}
		if err == nil {
			want = append(want, fmt.Sprintf("k%03d", i))
		}
	}
	if got := keys(t, db); !slices.Equal(got, want) {
		t.Fatalf("committed %d keys, want %d", len(got), len(want))
	}
}

// TestGroupCommitPanic makes a write panic: its caller panics, with the
// value; the other writes of its batch fail, keep nothing, and do not
// panic; the committer goes on.
func TestGroupCommitPanic(t *testing.T) {
	c, db := testCommitter(t)
	boom := func(tx sqlstore.Tx) error {
		insert("b", nil)(tx)
		panic("boom")
	}
	var recovered any
	guarded := func(tx sqlstore.Tx) error { return boom(tx) }
	release := hold(t, c)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i, f := range []func(sqlstore.Tx) error{insert("a", nil), guarded, insert("c", nil)} {
		wg.Go(func() {
			defer func() {
				if v := recover(); v != nil {
					recovered = v
					errs[i] = errors.New("panicked")
				}
			}()
			errs[i] = c.Write(context.Background(), f)
		})
		waitQueued(t, c, i+1)
	}
	release()
	wg.Wait()
	if recovered != "boom" {
		t.Fatalf("the panicking write's caller recovered %v (%v)", recovered, errs)
	}
	for i, err := range errs {
		if err == nil {
			t.Errorf("write %d of a batch with a panic succeeded", i)
		}
	}
	if got := keys(t, db); !slices.Equal(got, []string{"held"}) {
		t.Fatalf("committed %q after a panic", got)
	}
	if err := c.Write(context.Background(), insert("d", nil)); err != nil {
		t.Fatalf("a write after a panic: %v", err)
	}
}

// TestGroupCommitAbandonTaken cancels a write that is in a batch but has
// not run, because the batch waits for another connection's lock: its
// caller returns at once, and it does not run.
func TestGroupCommitAbandonTaken(t *testing.T) {
	c, db := testCommitter(t)
	other, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.ExecContext(context.Background(), `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &write{ctx: ctx, f: insert("a", nil), result: make(chan error, 1)}
	c.queue <- w
	for deadline := time.Now().Add(10 * time.Second); w.state.Load() != taken; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the committer did not take the write")
		}
	}
	cancel()
	if err := c.wait(w); !errors.Is(err, context.Canceled) {
		t.Fatalf("the cancelled write: %v", err)
	}
	if _, err := other.ExecContext(context.Background(), `COMMIT`); err != nil {
		t.Fatal(err)
	}
	if err := c.Write(context.Background(), insert("b", nil)); err != nil {
		t.Fatal(err)
	}
	if got := keys(t, db); !slices.Equal(got, []string{"b"}) || w.state.Load() != abandoned {
		t.Fatalf("committed %q, the cancelled write in state %d", got, w.state.Load())
	}
}
