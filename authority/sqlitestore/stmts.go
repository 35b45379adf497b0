package sqlitestore

import (
	"context"
	"database/sql"
	"sync"
)

// maxStmts bounds the statements a store keeps prepared: more than the
// store's queries, which are constants of package sqlstore.
const maxStmts = 128

// stmts keeps the store's queries prepared, so that a statement is
// parsed once per connection rather than once per call (SQLite's parser
// was a tenth of a deposit's work). Queries beyond maxStmts run
// unprepared. It is safe for concurrent use.
type stmts struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func newStmts(db *sql.DB) *stmts { return &stmts{db: db, m: map[string]*sql.Stmt{}} }

// get returns q prepared, or nil when the cache is full.
func (c *stmts) get(ctx context.Context, q string) (*sql.Stmt, error) {
	c.mu.Lock()
	st, full := c.m[q], len(c.m) >= maxStmts
	c.mu.Unlock()
	if st != nil || full {
		return st, nil
	}
	st, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.m[q]; old != nil {
		st.Close()
		return old, nil
	}
	c.m[q] = st
	return st, nil
}

// inTx returns q prepared for tx, or nil when the cache is full.
func (c *stmts) inTx(ctx context.Context, tx *sql.Tx, q string) (*sql.Stmt, error) {
	st, err := c.get(ctx, q)
	if st == nil || err != nil {
		return nil, err
	}
	return tx.StmtContext(ctx, st), nil
}

// txExec runs q in tx, prepared when it can be.
func (c *stmts) txExec(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	st, err := c.inTx(ctx, tx, q)
	switch {
	case err != nil:
		return nil, err
	case st == nil:
		return tx.ExecContext(ctx, q, args...)
	}
	return st.ExecContext(ctx, args...)
}

// close closes the statements.
func (c *stmts) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.m {
		st.Close()
		delete(c.m, q)
	}
}
