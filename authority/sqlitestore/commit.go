package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/keyblob/keyblob/authority/internal/sqlstore"
)

// Group commit. SQLite lets one writer through at a time and, with
// synchronous=FULL, each commit waits for the disk: committed one by one,
// writes are bounded by the disk's flushes per second. So a store's
// writes go to one goroutine, the committer, through a bounded queue. It
// takes every write waiting (at most maxBatch), runs each in a SAVEPOINT
// of one immediate transaction, rolling back to it the writes that fail,
// and commits them together: one flush for the batch. A write's caller
// returns only after that COMMIT, with its own outcome, so every write is
// still durable on return and atomic, and one that fails leaves the
// others unchanged. A write that waits for the committer respects its
// ctx; one the committer has started runs to its end (cancelling a
// statement would let SQLite roll back the shared transaction). The
// savepoints' journals stay in memory (sqlitedb.Options.MemoryTemp): a
// batch's would otherwise spill to a temporary file.
const (
	// maxBatch bounds the writes committed together.
	maxBatch = 128
	// queueSize bounds the writes waiting for the committer; a write
	// that finds the queue full waits (its ctx respected).
	queueSize = 1024
)

// errClosed is the outcome of a write waiting when the store closes.
var errClosed = errors.New("the store is closed")

// A write's states: waiting in the queue, taken into a batch, running
// (its f has started: its outcome will come), or abandoned by its caller
// (ctx done, or the store closed) before it ran.
const (
	waiting int32 = iota
	taken
	running
	abandoned
)

// write is one Write call waiting for the committer.
type write struct {
	ctx    context.Context
	f      func(sqlstore.Tx) error
	state  atomic.Int32
	result chan error // buffered: the committer never waits for the caller
}

// committer runs the writes of one store in batches, on one goroutine.
type committer struct {
	db    *sql.DB
	stmts *stmts
	queue chan *write
	quit  chan struct{} // closed by stop
	done  chan struct{} // closed when run returns
	once  sync.Once
}

func newCommitter(db *sql.DB, st *stmts) *committer {
	c := &committer{db: db, stmts: st, queue: make(chan *write, queueSize), quit: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

// Write queues f and waits for its outcome (sqlstore.DB.Write).
func (c *committer) Write(ctx context.Context, f func(sqlstore.Tx) error) error {
	w := &write{ctx: ctx, f: f, result: make(chan error, 1)}
	select {
	case c.queue <- w:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		return errClosed
	}
	return c.wait(w)
}

// wait waits for the outcome of w, queued, or abandons it if its ctx is
// done or the committer stops before it runs.
func (c *committer) wait(w *write) error {
	var why error
	select {
	case err := <-w.result:
		return outcome(err)
	case <-w.ctx.Done():
		why = w.ctx.Err()
	case <-c.done:
		why = errClosed
	}
	if w.state.CompareAndSwap(waiting, abandoned) || w.state.CompareAndSwap(taken, abandoned) {
		return why
	}
	return outcome(<-w.result) // running: its outcome comes
}

// outcome returns a write's outcome to its caller: a panic of its f
// panics again there, as if f had run in the caller.
func outcome(err error) error {
	var p panicked
	if errors.As(err, &p) {
		panic(p.value)
	}
	return err
}

// panicked is the outcome of a write whose f panicked: Write panics
// again in its caller, with the value.
type panicked struct{ value any }

func (p panicked) Error() string { return fmt.Sprintf("a write panicked: %v", p.value) }

// stop ends the committer once its current batch is committed; writes
// still waiting return errClosed.
func (c *committer) stop() {
	c.once.Do(func() { close(c.quit) })
	<-c.done
}

func (c *committer) run() {
	defer close(c.done)
	batch := make([]*write, 0, maxBatch)
	for {
		select {
		case w := <-c.queue:
			batch = c.fill(append(batch[:0], w))
		case <-c.quit:
			return
		}
		c.commit(batch)
		clear(batch)
	}
}

// fill adds the writes waiting now to batch, up to maxBatch, keeping
// those whose callers still wait.
func (c *committer) fill(batch []*write) []*write {
	for len(batch) < maxBatch {
		select {
		case w := <-c.queue:
			batch = append(batch, w)
		default:
			return takeWaiting(batch)
		}
	}
	return takeWaiting(batch)
}

// takeWaiting marks the writes still waiting taken and returns them.
func takeWaiting(batch []*write) []*write {
	kept := batch[:0]
	for _, w := range batch {
		if w.state.CompareAndSwap(waiting, taken) {
			kept = append(kept, w)
		}
	}
	return kept
}

// commit runs batch in one transaction and gives every write its
// outcome.
func (c *committer) commit(batch []*write) {
	if len(batch) == 0 {
		return
	}
	errs := make([]error, len(batch))
	err := c.transaction(batch, errs)
	for i, w := range batch {
		if errs[i] == nil {
			errs[i] = err
		}
		w.result <- errs[i]
	}
}

// transaction runs each write in a savepoint, setting errs[i] to the
// error of write i, and commits. An error it returns is the outcome of
// every write that had none of its own: none of their changes was kept,
// or, for a failed COMMIT, possibly all.
func (c *committer) transaction(batch []*write, errs []error) error {
	tx, err := c.db.BeginTx(context.Background(), nil) // BEGIN IMMEDIATE (internal/sqlitedb)
	if err != nil {
		return err
	}
	for i, w := range batch {
		var broken error
		errs[i], broken = c.savepoint(tx, w)
		if broken != nil {
			tx.Rollback()
			clear(errs[:i]) // what they did is rolled back: broken is theirs too
			if errors.As(broken, new(panicked)) {
				return errors.New("another write committed with it panicked")
			}
			return broken
		}
	}
	return tx.Commit()
}

// savepoint runs w in a savepoint of tx and returns w's error, and an
// error that leaves tx unusable (a savepoint that could not be set,
// released or rolled back to: SQLite may have rolled the transaction
// back, after a full disk or an I/O error; or f panicked, half-way).
// A write abandoned meanwhile does not run.
func (c *committer) savepoint(tx *sql.Tx, w *write) (werr, broken error) {
	if !w.state.CompareAndSwap(taken, running) {
		return errClosed, nil // abandoned: no one reads this
	}
	if err := w.ctx.Err(); err != nil {
		return err, nil // cancelled while it waited
	}
	ctx := context.WithoutCancel(w.ctx)
	if _, err := c.stmts.txExec(ctx, tx, `SAVEPOINT op`); err != nil {
		return nil, err
	}
	if werr = run(w.f, &sqliteTx{tx: tx, stmts: c.stmts, ctx: ctx}); errors.As(werr, new(panicked)) {
		return werr, werr
	}
	if werr != nil {
		if _, err := c.stmts.txExec(ctx, tx, `ROLLBACK TO op`); err != nil {
			return werr, fmt.Errorf("rolling a write back: %w (after %w)", err, werr)
		}
	}
	if _, err := c.stmts.txExec(ctx, tx, `RELEASE op`); err != nil {
		return werr, fmt.Errorf("releasing a write's savepoint: %w", err)
	}
	return werr, nil
}

// run calls f, returning a panic as panicked.
func run(f func(sqlstore.Tx) error, tx sqlstore.Tx) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = panicked{v}
		}
	}()
	return f(tx)
}
