// Package replay protects against replayed messages, as the seeds propose:
// by timestamps (a Window of acceptable creation times) and serial numbers
// (a Cache that remembers the replay identifiers of accepted messages).
//
// The Cache is a SQLite database, so it survives restarts and is safe for
// concurrent use by several processes: the first-use insert is atomic.
//
// A replay identifier must be something only the genuine message yields: a
// value derived from the message's secret (package seal derives it from the
// session key and the serial), never a field in clear such as the serial
// alone, which anyone who sees the message could put in another message
// first, or the signer, which a recipient could strip.
package replay

import (
	"context"
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

// ErrReplay is returned for a message that was already accepted.
var ErrReplay = errors.New("replay: message already accepted once (replayed)")

// ErrTooOld is returned for a message older than the window allows, or
// older than what the cache can still vouch for.
var ErrTooOld = errors.New("replay: message is too old")

// ErrFuture is returned for a message dated further in the future than the
// window's skew.
var ErrFuture = errors.New("replay: message is dated in the future")

// DefaultSkew is how far in the future a creation time may be, for clocks
// that differ a little.
const DefaultSkew = 5 * time.Minute

// A Window bounds acceptable creation times. The zero MaxAge accepts any
// age; the zero Skew means DefaultSkew.
type Window struct {
	MaxAge time.Duration
	Skew   time.Duration
}

func (w Window) skew() time.Duration {
	if w.Skew == 0 {
		return DefaultSkew
	}
	return w.Skew
}

// Check reports whether a message created at created may be accepted now.
func (w Window) Check(created, now time.Time) error {
	if created.After(now.Add(w.skew())) {
		return fmt.Errorf("%w (%s, now %s)", ErrFuture, created.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if w.MaxAge > 0 && created.Before(now.Add(-w.MaxAge)) {
		return fmt.Errorf("%w: created %s, more than %s ago", ErrTooOld, created.UTC().Format(time.RFC3339), w.MaxAge)
	}
	return nil
}

// IDSize is the size of a replay identifier.
const IDSize = 32

// ErrSchema is returned by Open for a database this version cannot use: a
// cache made by an earlier development version of keyblob (keyed by
// sender and serial, which let replays through), a newer version's, or
// another program's database.
var ErrSchema = errors.New("replay: not a replay cache of this version of keyblob")

// Cache remembers the replay identifiers of accepted messages, with their
// creation times. It is safe for concurrent use by goroutines and by
// processes sharing the file.
type Cache struct {
	db *sql.DB
}

// schemaVersion is the database's user_version once the schema exists.
// Version 1, never released, was keyed by (sender, serial), with
// user_version 0; it is refused, not migrated: its entries cannot be
// turned into replay identifiers.
const schemaVersion = 2

const schema = `
CREATE TABLE accepted (
	id      BLOB PRIMARY KEY CHECK (length(id) = 32),
	created INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX accepted_created ON accepted (created);
CREATE TABLE horizon (
	id     INTEGER PRIMARY KEY CHECK (id = 1),
	oldest INTEGER NOT NULL
);
INSERT INTO horizon (id, oldest) VALUES (1, 0);
PRAGMA user_version = 2;`

// Open opens or creates the cache at path, creating its directory (0700)
// and file (0600) if needed.
func Open(path string) (*Cache, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	f.Close()
	dsn, err := dataSourceName(path)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	if err := setup(db); err != nil {
		db.Close()
		if errors.Is(err, ErrSchema) {
			return nil, fmt.Errorf("%w: %s", err, path)
		}
		return nil, fmt.Errorf("replay: opening %s: %w", path, err)
	}
	return &Cache{db: db}, nil
}

// busyTimeout is how long an operation waits for another connection's
// lock on the database.
const busyTimeout = 30 * time.Second

// setup switches the database to WAL mode and creates the schema. Several
// processes may do so at once on a new file, and SQLite answers the switch
// to WAL with SQLITE_BUSY at once, without waiting for the busy timeout,
// when it meets another connection's lock: so the setup is retried until
// busyTimeout. The schema is created in an immediate transaction, which
// does wait.
func setup(db *sql.DB) error {
	deadline := time.Now().Add(busyTimeout)
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		err := setupOnce(db)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(delay)
	}
}

func setupOnce(db *sql.DB) error {
	// The mode is persistent; a file system without WAL support keeps the
	// rollback journal, which is slower but as safe.
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode = WAL`).Scan(&mode); err != nil {
		return err
	}
	tx, err := db.Begin() // BEGIN IMMEDIATE (_txlock)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	fresh, err := checkSchema(tx)
	if err != nil || !fresh {
		return err
	}
	if _, err := tx.Exec(schema); err != nil {
		return err
	}
	return tx.Commit()
}

// checkSchema reports whether the database is empty, so the schema must be
// created, and refuses (ErrSchema) one that is neither empty nor of
// schemaVersion.
func checkSchema(tx *sql.Tx) (fresh bool, err error) {
	var version, tables int
	if err := tx.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil {
		return false, err
	}
	if err := tx.QueryRow(`SELECT count(*) FROM sqlite_schema`).Scan(&tables); err != nil {
		return false, err
	}
	switch {
	case version == schemaVersion:
		return false, nil
	case version == 0 && tables == 0:
		return true, nil
	case version == 0:
		return false, fmt.Errorf("%w (it has an older, unreleased schema keyed by sender and serial, or another program's tables)", ErrSchema)
	}
	return false, fmt.Errorf("%w (it has schema version %d, this version uses %d)", ErrSchema, version, schemaVersion)
}

// isBusy reports whether err is SQLite's SQLITE_BUSY, or one of its
// extended codes.
func isBusy(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_BUSY
}

// dataSourceName returns the SQLite URI of the database file at path. The
// path is escaped: SQLite reads '?' and '#' in a file: URI as the start of
// the query or fragment and decodes '%', so "file:"+path would open
// another file than the one named (for "a#b/replay.db", the file "a").
func dataSourceName(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	abs = filepath.ToSlash(abs)
	if !strings.HasPrefix(abs, "/") {
		abs = "/" + abs // a Windows drive letter: file:///C:/...
	}
	q := url.Values{"_txlock": {"immediate"}}
	q["_pragma"] = []string{fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()), "synchronous(FULL)"}
	u := url.URL{Scheme: "file", Path: abs, RawQuery: q.Encode()}
	return u.String(), nil
}

// Close closes the cache.
func (c *Cache) Close() error { return c.db.Close() }

// Check reports ErrReplay if id was accepted before, and ErrTooOld if
// created is older than the cache can vouch for. It records nothing. An id
// that is not IDSize bytes long is an error.
func (c *Cache) Check(ctx context.Context, id []byte, created time.Time) error {
	return c.check(ctx, c.db, id, created)
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (c *Cache) check(ctx context.Context, q querier, id []byte, created time.Time) error {
	if len(id) != IDSize {
		return fmt.Errorf("replay: a replay identifier is %d bytes, not %d", IDSize, len(id))
	}
	var oldest int64
	var seen bool
	// a.id is qualified: in a foreign table without an id column, a bare
	// id would silently mean the outer h.id.
	err := q.QueryRowContext(ctx, `SELECT h.oldest, EXISTS (SELECT 1 FROM accepted a WHERE a.id = $1)
		FROM horizon h WHERE h.id = 1`, id).Scan(&oldest, &seen)
	switch {
	case err != nil:
		return fmt.Errorf("replay: %w", err)
	case seen:
		return ErrReplay
	case created.Unix() < oldest:
		return fmt.Errorf("%w for the replay cache, which keeps no record of messages before %s",
			ErrTooOld, time.Unix(oldest, 0).UTC().Format(time.RFC3339))
	}
	return nil
}

// Record accepts the message whose replay identifier is id and which was
// created at created: atomically, it checks as Check does and inserts id.
// Of concurrent Records of one id, exactly one succeeds; the others return
// ErrReplay. The id is durable when Record returns: a caller that crashes
// afterwards has used the message up.
func (c *Cache) Record(ctx context.Context, id []byte, created time.Time) error {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	defer tx.Rollback()
	if err := c.check(ctx, tx, id, created); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO accepted (id, created) VALUES ($1, $2)`,
		id, created.Unix()); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	return nil
}

// Purge forgets the identifiers of messages created before before, and
// from then on refuses messages created before it (ErrTooOld), so that
// forgetting never lets a message be accepted twice. The horizon only
// moves forward.
func (c *Cache) Purge(ctx context.Context, before time.Time) error {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	defer tx.Rollback()
	cut := before.Unix()
	if _, err := tx.ExecContext(ctx, `UPDATE horizon SET oldest = max(oldest, $1) WHERE id = 1`, cut); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM accepted WHERE created < (SELECT oldest FROM horizon WHERE id = 1)`); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	return nil
}
