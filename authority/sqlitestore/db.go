package sqlitestore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/keyblob/keyblob/authority/internal/sqlstore"
)

// sqliteDB is a database/sql pool as a sqlstore.DB: reads go to the pool
// (WAL: they do not wait for the writer), writes to the committer, which
// commits them in groups (commit.go). Other processes' writers meet
// SQLite's lock and its busy timeout.
type sqliteDB struct {
	db    *sql.DB
	stmts *stmts
	*committer
}

// maxIdle is how many connections the pool keeps open: opening one
// reads the schema again, and database/sql's default keeps two.
const maxIdle = 16

func newDB(db *sql.DB) *sqliteDB {
	db.SetMaxIdleConns(maxIdle)
	st := newStmts(db)
	return &sqliteDB{db: db, stmts: st, committer: newCommitter(db, st)}
}

func (d *sqliteDB) Ping(ctx context.Context) error { return d.db.PingContext(ctx) }

// Close stops the committer, then closes the pool.
func (d *sqliteDB) Close() error {
	d.stop()
	d.stmts.close()
	return d.db.Close()
}

func (d *sqliteDB) QueryRow(ctx context.Context, q string, args ...any) sqlstore.Row {
	st, err := d.stmts.get(ctx, q)
	switch {
	case err != nil:
		return errRow{err}
	case st == nil:
		return row{d.db.QueryRowContext(ctx, q, args...)}
	}
	return row{st.QueryRowContext(ctx, args...)}
}

func (d *sqliteDB) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	st, err := d.stmts.get(ctx, q)
	if err != nil {
		return nil, err
	}
	var r *sql.Rows
	if st == nil {
		r, err = d.db.QueryContext(ctx, q, args...)
	} else {
		r, err = st.QueryContext(ctx, args...)
	}
	if err != nil {
		return nil, err
	}
	return rows{r}, nil
}

func (d *sqliteDB) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	st, err := d.stmts.get(ctx, q)
	switch {
	case err != nil:
		return 0, err
	case st == nil:
		return affected(d.db.ExecContext(ctx, q, args...))
	}
	return affected(st.ExecContext(ctx, args...))
}

// sqliteTx is one write's view of the committer's transaction: its
// statements run with ctx, the write's context without its cancellation.
// Its first error ends the write: later statements return it without
// running, so that none runs outside the transaction should SQLite have
// rolled it back.
type sqliteTx struct {
	tx    *sql.Tx
	stmts *stmts
	ctx   context.Context
	err   error
}

func (t *sqliteTx) fail(err error) error {
	if err != nil && !errors.Is(err, sqlstore.ErrNoRows) && t.err == nil {
		t.err = err
	}
	return err
}

func (t *sqliteTx) QueryRow(_ context.Context, q string, args ...any) sqlstore.Row {
	if t.err != nil {
		return errRow{t.err}
	}
	st, err := t.stmts.inTx(t.ctx, t.tx, q)
	switch {
	case err != nil:
		t.fail(err)
		return errRow{err}
	case st == nil:
		return txRow{row{t.tx.QueryRowContext(t.ctx, q, args...)}, t}
	}
	return txRow{row{st.QueryRowContext(t.ctx, args...)}, t}
}

func (t *sqliteTx) Query(_ context.Context, q string, args ...any) (sqlstore.Rows, error) {
	if t.err != nil {
		return nil, t.err
	}
	st, err := t.stmts.inTx(t.ctx, t.tx, q)
	if err != nil {
		return nil, t.fail(err)
	}
	var r *sql.Rows
	if st == nil {
		r, err = t.tx.QueryContext(t.ctx, q, args...)
	} else {
		r, err = st.QueryContext(t.ctx, args...)
	}
	if err != nil {
		return nil, t.fail(err)
	}
	return rows{r}, nil
}

func (t *sqliteTx) Exec(_ context.Context, q string, args ...any) (int64, error) {
	if t.err != nil {
		return 0, t.err
	}
	n, err := affected(t.stmts.txExec(t.ctx, t.tx, q, args...))
	return n, t.fail(err)
}

func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

type row struct{ r *sql.Row }

func (r row) Scan(dest ...any) error {
	err := r.r.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return sqlstore.ErrNoRows
	}
	return err
}

// txRow records a Scan's error in its write.
type txRow struct {
	row
	t *sqliteTx
}

func (r txRow) Scan(dest ...any) error { return r.t.fail(r.row.Scan(dest...)) }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

type rows struct{ *sql.Rows }

func (r rows) Close() { r.Rows.Close() }
