// Package sqlitestore is the backup authority's embedded store: one
// SQLite database file (modernc.org/sqlite, no cgo), set up by package
// internal/sqlitedb, in WAL mode with synchronous=FULL, so that a change
// is on disk when its method returns. It implements authority.Store,
// whose doc is its contract, with the queries it shares with pgstore.
//
// Several processes may open one file: SQLite's lock serializes their
// writes. Within a process, a store's writes are committed in groups: one
// goroutine runs the writes waiting, each in a savepoint of one
// transaction, and commits them with one flush to disk; each caller
// returns after that commit, with its own outcome (commit.go). So writes
// wait for each other in a queue, rather than in SQLite's busy handler,
// which sleeps, and many writes share a flush.
//
// The schema is embedded and versioned (PRAGMA user_version, with
// application_id marking the file): Open brings an older schema up to
// date and refuses a file of a newer version or of another program
// (authority.ErrSchema).
package sqlitestore

import (
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/keyblob/keyblob/authority"
	"github.com/keyblob/keyblob/authority/internal/sqlstore"
	"github.com/keyblob/keyblob/internal/sqlitedb"
)

// Store is the SQLite store.
type Store struct {
	sqlstore.Store
}

var _ authority.Store = (*Store)(nil)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// applicationID is "kbla", set by the first migration.
const applicationID = 0x6b626c61

// Open opens or creates the store at path (its directory 0700, the file
// 0600), migrating its schema to the current version.
func Open(path string) (*Store, error) {
	dir, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	migrations, err := sqlstore.Migrations(dir)
	if err != nil {
		return nil, err
	}
	db, err := sqlitedb.Open(path, &sqlitedb.Options{Init: func(tx *sql.Tx) error { return migrate(tx, migrations) },
		MemoryTemp: true})
	switch {
	case errors.Is(err, authority.ErrSchema):
		return nil, fmt.Errorf("%w: %s", err, path)
	case err != nil:
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	return &Store{Store: *sqlstore.New(newDB(db))}, nil
}

// migrate applies the migrations the database lacks, in Open's immediate
// transaction, after checking that it is this store's.
func migrate(tx *sql.Tx, migrations []string) error {
	var version, app, tables int
	for q, v := range map[string]*int{`PRAGMA user_version`: &version, `PRAGMA application_id`: &app,
		`SELECT count(*) FROM sqlite_schema`: &tables} {
		if err := tx.QueryRow(q).Scan(v); err != nil {
			return err
		}
	}
	switch {
	case version == 0 && tables > 0, version > 0 && app != applicationID:
		return fmt.Errorf("%w (it holds another program's tables)", authority.ErrSchema)
	case version > len(migrations):
		return fmt.Errorf("%w (its schema version is %d, this version knows %d)", authority.ErrSchema, version, len(migrations))
	}
	for v := version; v < len(migrations); v++ {
		if _, err := tx.Exec(migrations[v]); err != nil {
			return fmt.Errorf("migrating to schema version %d: %w", v+1, err)
		}
		if _, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, v+1)); err != nil {
			return err
		}
	}
	return nil
}
