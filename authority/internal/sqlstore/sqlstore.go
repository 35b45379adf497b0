// Package sqlstore is the one implementation of authority.Store over SQL,
// shared by the SQLite and PostgreSQL backends. A backend supplies a DB
// (its connection pool behind four small interfaces) and the schema;
// this package holds every query, each written in the SQL both databases
// speak ($N placeholders, INSERT ... ON CONFLICT DO NOTHING, UPDATE ...
// RETURNING), so that the two backends cannot drift apart.
//
// Concurrency is the databases': every change is one transaction whose
// checks are conditional statements (an UPDATE whose WHERE holds the
// compare, an INSERT that does nothing on conflict), whose outcome the
// number of rows affected gives. Those are atomic under SQLite's single
// writer and under PostgreSQL's READ COMMITTED alike, where a statement
// that waited for a row another transaction locked evaluates its WHERE
// again on the committed row. The audit log's head (audit_head, one row)
// is locked by the UPDATE that takes the next sequence number, the last
// lock every transaction takes, so that audit entries are appended one at
// a time, in commit order, and no two transactions wait for each other in
// a cycle.
package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"strings"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/keyblob/keyblob/authority"
	"github.com/keyblob/keyblob/authority/api"
)

// DB is a backend's connection pool.
type DB interface {
	Querier
	// Write runs f in a read-write transaction: if f returns nil, Write
	// returns once f's changes are committed (or with the commit's error);
	// if f returns an error, none of f's changes are kept and Write
	// returns that error. A backend may run several Writes' f, one after
	// another, in one transaction, each in a savepoint of its own, and
	// commit them together (group commit): f's changes are then exactly
	// as if f ran alone, and Write still returns only after the commit.
	// f returns at its statements' first error.
	Write(ctx context.Context, f func(tx Tx) error) error
	Ping(ctx context.Context) error
	Close() error
}

// Tx is a transaction, or a savepoint of one, that Write gives f.
type Tx interface {
	Querier
}

// Querier runs statements. A Row's Scan returns ErrNoRows for no row.
type Querier interface {
	QueryRow(ctx context.Context, query string, args ...any) Row
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	// Exec returns the number of rows the statement changed.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
}

// Row is one result row.
type Row interface {
	Scan(dest ...any) error
}

// Rows are the rows of a query.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// ErrNoRows is what a backend's Row.Scan returns when there is no row.
var ErrNoRows = errors.New("no rows in result set")

// Store implements authority.Store over a DB.
type Store struct {
	db   DB
	edge edge // of the tree this Store last committed
}

var _ authority.Store = (*Store)(nil)

// New returns the Store of db, whose schema must be current.
func New(db DB) *Store { return &Store{db: db} }

// Close closes the DB.
func (s *Store) Close() error { return s.db.Close() }

// Ping reports whether the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	var one int64
	return s.db.QueryRow(ctx, `SELECT 1`).Scan(&one)
}

// write runs f in a transaction (DB.Write) and commits it if f returns
// nil.
func (s *Store) write(ctx context.Context, f func(tx Tx) error) error {
	return s.db.Write(ctx, f)
}

// audited runs change, appends e, and runs number (if not nil) with the
// entry as appended, in one transaction; it returns e as appended.
// number is for rows numbered by their entry's Seq, known only once the
// entry is appended: it may touch only rows change wrote, so that no
// lock is waited for after the head's.
func (s *Store) audited(ctx context.Context, e api.AuditEntry, change func(tx Tx) error,
	number func(tx Tx, e api.AuditEntry) error) (api.AuditEntry, error) {
	if err := e.Validate(); err != nil {
		return api.AuditEntry{}, err
	}
	var appended api.AuditEntry
	var edge map[int64]tlog.Hash
	err := s.write(ctx, func(tx Tx) error {
		if err := change(tx); err != nil {
			return err
		}
		var err error
		if appended, edge, err = appendAudit(ctx, tx, e, &s.edge); err != nil || number == nil {
			return err
		}
		return number(tx, appended)
	})
	if err != nil {
		return api.AuditEntry{}, err
	}
	s.edge.set(int64(appended.Seq), edge) // committed
	return appended, nil
}

// one reports ErrConflict unless n is 1, or notFound if the row checked
// by exists does not exist.
func one(ctx context.Context, q Querier, n int64, exists string, args ...any) error {
	if n == 1 {
		return nil
	}
	var x int64
	switch err := q.QueryRow(ctx, exists, args...).Scan(&x); {
	case errors.Is(err, ErrNoRows):
		return api.ErrNotFound
	case err != nil:
		return err
	}
	return authority.ErrConflict
}

// after returns a sequence number as the databases' int64; one beyond
// them is past every row.
func after(seq uint64) int64 {
	if seq > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(seq)
}

// Migrations returns the schema migrations in fsys, the files
// NNNN_name.sql numbered from 0001 without gaps, in order: element i is
// the migration to version i+1.
func Migrations(fsys fs.FS) ([]string, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	out := make([]string, len(names))
	for i, name := range names {
		if !strings.HasPrefix(name, fmt.Sprintf("%04d_", i+1)) {
			return nil, fmt.Errorf("migration %s is not number %d", name, i+1)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		out[i] = string(b)
	}
	return out, nil
}
