// Package sqlitedb opens SQLite databases (modernc.org/sqlite, no cgo) the
// one way keyblob uses them: the replay cache and the backup authority's
// store share it, so that both get the same durability and the same
// behaviour under concurrent processes.
//
// Every connection of a database Open returns has:
//   - busy_timeout of BusyTimeout: a statement that meets another
//     connection's lock waits for it instead of failing at once with
//     SQLITE_BUSY;
//   - synchronous=FULL: a transaction is on disk when its Commit returns,
//     even in WAL mode, so that an inserted nonce or replay identifier
//     survives a power cut once it is reported inserted;
//   - _txlock=immediate: Begin takes the write lock at once, so that a
//     transaction that reads and then writes (a check, then an insert)
//     never fails with SQLITE_BUSY half-way, and two of them serialize.
//
// The database is in WAL mode (persistent, set by Open), so readers do not
// wait for a writer. Its errors are unprefixed: the caller names the
// database.
package sqlitedb

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite" // the database/sql driver "sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// BusyTimeout is how long an operation waits for another connection's
// lock on the database, and how long Open retries its set-up.
const BusyTimeout = 30 * time.Second

// Options say how to set up a database. The zero value (or nil) sets up
// the connection and the journal mode only.
type Options struct {
	// Init, if set, runs once the database is in WAL mode, in an
	// immediate transaction that is committed if Init returns nil: it
	// checks the schema and creates it in a new database. Init may run
	// more than once (it is retried on SQLITE_BUSY), each time in a new
	// transaction, so it must decide from what tx shows. Its errors are
	// returned as they are, so the caller may inspect them.
	Init func(tx *sql.Tx) error
	// MemoryTemp keeps every connection's temporary files in memory
	// (temp_store=MEMORY): the journals of statements and savepoints,
	// which a transaction of many savepoints would otherwise spill to a
	// file, and sorts. None of them is needed after a crash; the database
	// and its WAL are the durable state.
	MemoryTemp bool
}

// Open opens the database file at path, creating its directory (mode
// 0700) and the file (mode 0600) if needed, with the settings of the
// package doc. Several processes may Open one new file at once.
func Open(path string, opts *Options) (*sql.DB, error) {
	if opts == nil {
		opts = &Options{}
	}
	if err := create(path); err != nil {
		return nil, err
	}
	dsn, err := dataSourceName(path, opts.MemoryTemp)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	if err := setup(db, opts.Init); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// create makes the directory and the file of path, so that their modes
// are ours, not the driver's defaults.
func create(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}

// setup switches the database to WAL mode and runs init. Several
// processes may do so at once on a new file, and SQLite answers the switch
// to WAL with SQLITE_BUSY at once, without waiting for the busy timeout,
// when it meets another connection's lock: so the set-up is retried until
// BusyTimeout. init runs in an immediate transaction, which does wait.
func setup(db *sql.DB, init func(*sql.Tx) error) error {
	deadline := time.Now().Add(BusyTimeout)
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		err := setupOnce(db, init)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(delay)
	}
}

func setupOnce(db *sql.DB, init func(*sql.Tx) error) error {
	// The mode is persistent; a file system without WAL support keeps the
	// rollback journal, which is slower but as safe.
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode = WAL`).Scan(&mode); err != nil {
		return err
	}
	if init == nil {
		return nil
	}
	tx, err := db.Begin() // BEGIN IMMEDIATE (_txlock)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := init(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// isBusy reports whether err is SQLite's SQLITE_BUSY, or one of its
// extended codes.
func isBusy(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_BUSY
}

// dataSourceName returns the driver's URI for the database file at path,
// with the settings of the package doc. The path is escaped: SQLite reads
// '?' and '#' in a file: URI as the start of the query or fragment and
// decodes '%', so "file:"+path would open another file than the one named
// (for "a#b/replay.db", the file "a").
func dataSourceName(path string, memoryTemp bool) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	abs = filepath.ToSlash(abs)
	if !strings.HasPrefix(abs, "/") {
		abs = "/" + abs // a Windows drive letter: file:///C:/...
	}
	q := url.Values{"_txlock": {"immediate"}}
	q["_pragma"] = []string{fmt.Sprintf("busy_timeout(%d)", BusyTimeout.Milliseconds()), "synchronous(FULL)"}
	if memoryTemp {
		q["_pragma"] = append(q["_pragma"], "temp_store(MEMORY)")
	}
	u := url.URL{Scheme: "file", Path: abs, RawQuery: q.Encode()}
	return u.String(), nil
}
