// Package pgstore is the backup authority's PostgreSQL store, for several
// stateless serve instances sharing one database (github.com/jackc/pgx/v5,
// through a pgxpool). It implements authority.Store, whose doc is its
// contract, with the queries it shares with sqlitestore; every guarantee
// of the contract holds across instances, since each one is a property of
// a PostgreSQL transaction (see authority/internal/sqlstore). A change is
// durable when its method returns as far as the server's settings make a
// commit durable: with PostgreSQL's defaults (fsync on,
// synchronous_commit on), on disk.
//
// The schema is embedded and versioned. Open migrates it in one
// transaction that first takes a transaction-scoped advisory lock
// (pg_advisory_xact_lock of MigrationLock), so that two instances
// starting at once never migrate at the same time: the second waits, and
// then finds nothing left to do. A database whose schema is newer than
// this version's is refused (authority.ErrSchema).
package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/keyblob/keyblob/authority"
	"github.com/keyblob/keyblob/authority/internal/sqlstore"
)

// Store is the PostgreSQL store.
type Store struct {
	sqlstore.Store
}

var _ authority.Store = (*Store)(nil)

// MigrationLock is the advisory lock key Open holds while it migrates:
// "kblaschm" as a big-endian int64.
const MigrationLock int64 = 0x6b626c617363686d

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Open connects to the database of the connection string dsn (a
// postgres:// URL or key=value pairs, as pgx parses them), checks that it
// answers and migrates its schema.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's error may quote the connection string, password included.
		return nil, errors.New("malformed PostgreSQL connection string")
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return &Store{Store: *sqlstore.New(pgDB{pool})}, nil
}

// migrate applies the migrations the database lacks, under the advisory
// lock, in one transaction.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	dir, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	migrations, err := sqlstore.Migrations(dir)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, MigrationLock); err != nil {
			return fmt.Errorf("locking the schema: %w", err)
		}
		version, err := schemaVersion(ctx, tx)
		if err != nil {
			return err
		}
		if version > len(migrations) {
			return fmt.Errorf("%w (its schema version is %d, this version knows %d)", authority.ErrSchema, version, len(migrations))
		}
		for v := version; v < len(migrations); v++ {
			if _, err := tx.Exec(ctx, migrations[v]); err != nil {
				return fmt.Errorf("migrating to schema version %d: %w", v+1, err)
			}
			if _, err := tx.Exec(ctx, `UPDATE authority_schema SET version = $1`, v+1); err != nil {
				return err
			}
		}
		return nil
	})
}

// schemaVersion returns the database's schema version, creating the
// version table (version 0) in a new database.
func schemaVersion(ctx context.Context, tx pgx.Tx) (int, error) {
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS authority_schema (
		one     BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
		version INTEGER NOT NULL)`); err != nil {
		return 0, fmt.Errorf("reading the schema version: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO authority_schema (version) VALUES (0) ON CONFLICT DO NOTHING`); err != nil {
		return 0, err
	}
	var version int
	err := tx.QueryRow(ctx, `SELECT version FROM authority_schema`).Scan(&version)
	return version, err
}

// pgDB is a pgxpool as a sqlstore.DB.
type pgDB struct{ pool *pgxpool.Pool }

// Write runs f in a transaction of its own: PostgreSQL commits
// concurrent transactions concurrently. A database that cannot write
// is reported as an *authority.WriteError.
func (d pgDB) Write(ctx context.Context, f func(sqlstore.Tx) error) error {
	return writeError(pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error { return f(pgTx{tx}) }))
}

func (d pgDB) Ping(ctx context.Context) error { return d.pool.Ping(ctx) }

func (d pgDB) Close() error {
	d.pool.Close()
	return nil
}

func (d pgDB) QueryRow(ctx context.Context, q string, args ...any) sqlstore.Row {
	return row{d.pool.QueryRow(ctx, q, args...)}
}

func (d pgDB) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	return d.pool.Query(ctx, q, args...)
}

func (d pgDB) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := d.pool.Exec(ctx, q, args...)
	return tag.RowsAffected(), err
}

type pgTx struct{ tx pgx.Tx }

func (t pgTx) QueryRow(ctx context.Context, q string, args ...any) sqlstore.Row {
	return row{t.tx.QueryRow(ctx, q, args...)}
}

func (t pgTx) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	return t.tx.Query(ctx, q, args...)
}

func (t pgTx) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := t.tx.Exec(ctx, q, args...)
	return tag.RowsAffected(), err
}

type row struct{ r pgx.Row }

func (r row) Scan(dest ...any) error {
	err := r.r.Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return sqlstore.ErrNoRows
	}
	return err
}
