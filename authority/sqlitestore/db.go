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
	db *sql.DB
	*committer
}

func newDB(db *sql.DB) *sqliteDB { return &sqliteDB{db: db, committer: newCommitter(db)} }

func (d *sqliteDB) Ping(ctx context.Context) error { return d.db.PingContext(ctx) }

// Close stops the committer, then closes the pool.
func (d *sqliteDB) Close() error {
	d.stop()
	return d.db.Close()
}

func (d *sqliteDB) QueryRow(ctx context.Context, q string, args ...any) sqlstore.Row {
	return row{d.db.QueryRowContext(ctx, q, args...)}
}

func (d *sqliteDB) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	r, err := d.db.QueryContext(ctx, q, args...)
	return rows{r}, err
}

func (d *sqliteDB) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	return affected(d.db.ExecContext(ctx, q, args...))
}

// sqliteTx is one write's view of the committer's transaction: its
// statements run with ctx, the write's context without its cancellation.
// Its first error ends the write: later statements return it without
// running, so that none runs outside the transaction should SQLite have
// rolled it back.
type sqliteTx struct {
	tx  *sql.Tx
	ctx context.Context
	err error
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
	return txRow{row{t.tx.QueryRowContext(t.ctx, q, args...)}, t}
}

func (t *sqliteTx) Query(_ context.Context, q string, args ...any) (sqlstore.Rows, error) {
	if t.err != nil {
		return nil, t.err
	}
	r, err := t.tx.QueryContext(t.ctx, q, args...)
	return rows{r}, t.fail(err)
}

func (t *sqliteTx) Exec(_ context.Context, q string, args ...any) (int64, error) {
	if t.err != nil {
		return 0, t.err
	}
	n, err := affected(t.tx.ExecContext(t.ctx, q, args...))
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
