package sqlitestore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/keyblob/keyblob/authority/internal/sqlstore"
)

// sqliteDB is a database/sql pool as a sqlstore.DB. writer holds a token
// while a write transaction of this process is open, so that this
// process's writers queue here, in turn, instead of polling SQLite's lock
// in its busy handler; other processes still meet the busy timeout.
type sqliteDB struct {
	db     *sql.DB
	writer chan struct{}
}

func (d *sqliteDB) Begin(ctx context.Context) (sqlstore.Tx, error) {
	select {
	case d.writer <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	tx, err := d.db.BeginTx(ctx, nil) // BEGIN IMMEDIATE (internal/sqlitedb)
	if err != nil {
		<-d.writer
		return nil, err
	}
	return &sqliteTx{tx: tx, writer: d.writer}, nil
}

func (d *sqliteDB) Ping(ctx context.Context) error { return d.db.PingContext(ctx) }
func (d *sqliteDB) Close() error                   { return d.db.Close() }

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

// sqliteTx is a write transaction; it gives the writer token back when
// it ends.
type sqliteTx struct {
	tx     *sql.Tx
	writer chan struct{}
	done   bool
}

func (t *sqliteTx) end(err error) error {
	if !t.done {
		t.done = true
		<-t.writer
	}
	return err
}

func (t *sqliteTx) Commit(context.Context) error   { return t.end(t.tx.Commit()) }
func (t *sqliteTx) Rollback(context.Context) error { return t.end(t.tx.Rollback()) }

func (t *sqliteTx) QueryRow(ctx context.Context, q string, args ...any) sqlstore.Row {
	return row{t.tx.QueryRowContext(ctx, q, args...)}
}

func (t *sqliteTx) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	r, err := t.tx.QueryContext(ctx, q, args...)
	return rows{r}, err
}

func (t *sqliteTx) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	return affected(t.tx.ExecContext(ctx, q, args...))
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

type rows struct{ *sql.Rows }

func (r rows) Close() { r.Rows.Close() }
