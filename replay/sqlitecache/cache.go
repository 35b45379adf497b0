// Package sqlitecache is the SQLite replay cache: it remembers the replay
// identifiers of accepted messages (package replay) in a database file,
// so it survives restarts and is safe for concurrent use by several
// processes: the first-use insert is atomic. It implements
// seal.ReplayCache.
//
// Its errors carry no package prefix, as all of the module's library
// errors (the keyblob command adds "keyblob: error: "); it returns the
// sentinels of package replay (replay.ErrReplay, replay.ErrTooOld).
package sqlitecache

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/keyblob/keyblob/internal/sqlitedb"
	"github.com/keyblob/keyblob/replay"
)

// ErrSchema is returned by Open for a database this version cannot use: a
// cache made by an earlier development version of keyblob (keyed by
// sender and serial, which let replays through), a newer version's, or
// another program's database.
var ErrSchema = errors.New("not a replay cache of this version of keyblob")

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
// and file (0600) if needed. The database is set up by package
// internal/sqlitedb (WAL, synchronous=FULL, busy timeout). A database
// that is not a cache of this version is ErrSchema.
func Open(path string) (*Cache, error) {
	db, err := sqlitedb.Open(path, &sqlitedb.Options{Init: initSchema})
	switch {
	case errors.Is(err, ErrSchema):
		return nil, fmt.Errorf("%w: %s", err, path)
	case err != nil:
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	return &Cache{db: db}, nil
}

// initSchema creates the schema in an empty database and refuses
// (ErrSchema) one that is neither empty nor of schemaVersion.
func initSchema(tx *sql.Tx) error {
	var version, tables int
	if err := tx.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil {
		return err
	}
	if err := tx.QueryRow(`SELECT count(*) FROM sqlite_schema`).Scan(&tables); err != nil {
		return err
	}
	switch {
	case version == schemaVersion:
		return nil
	case version == 0 && tables == 0:
		_, err := tx.Exec(schema)
		return err
	case version == 0:
		return fmt.Errorf("%w (it has an older, unreleased schema keyed by sender and serial, or another program's tables)", ErrSchema)
	}
	return fmt.Errorf("%w (it has schema version %d, this version uses %d)", ErrSchema, version, schemaVersion)
}

// Close closes the cache.
func (c *Cache) Close() error { return c.db.Close() }

// Check reports replay.ErrReplay if id was accepted before, and
// replay.ErrTooOld if created is older than the cache can vouch for. It
// records nothing. An id that is not replay.IDSize bytes long is an
// error.
func (c *Cache) Check(ctx context.Context, id []byte, created time.Time) error {
	return c.check(ctx, c.db, id, created)
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (c *Cache) check(ctx context.Context, q querier, id []byte, created time.Time) error {
	if len(id) != replay.IDSize {
		return fmt.Errorf("a replay identifier is %d bytes, not %d", replay.IDSize, len(id))
	}
	var oldest int64
	var seen bool
	// a.id is qualified: in a foreign table without an id column, a bare
	// id would silently mean the outer h.id.
	err := q.QueryRowContext(ctx, `SELECT h.oldest, EXISTS (SELECT 1 FROM accepted a WHERE a.id = $1)
		FROM horizon h WHERE h.id = 1`, id).Scan(&oldest, &seen)
	switch {
	case err != nil:
		return err
	case seen:
		return replay.ErrReplay
	case created.Unix() < oldest:
		return fmt.Errorf("%w for the replay cache, which keeps no record of messages before %s",
			replay.ErrTooOld, time.Unix(oldest, 0).UTC().Format(time.RFC3339))
	}
	return nil
}

// Record accepts the message whose replay identifier is id and which was
// created at created: atomically, it checks as Check does and inserts id,
// in one immediate transaction. Of concurrent Records of one id, by
// goroutines or processes, exactly one succeeds; the others return
// replay.ErrReplay. The id is durable when Record returns: a caller that
// crashes afterwards has used the message up.
func (c *Cache) Record(ctx context.Context, id []byte, created time.Time) error {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := c.check(ctx, tx, id, created); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO accepted (id, created) VALUES ($1, $2)`,
		id, created.Unix()); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	return nil
}

// Purge forgets the identifiers of messages created before before, and
// from then on refuses messages created before it (replay.ErrTooOld), so
// that forgetting never lets a message be accepted twice. The horizon
// only moves forward.
func (c *Cache) Purge(ctx context.Context, before time.Time) error {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	cut := before.Unix()
	if _, err := tx.ExecContext(ctx, `UPDATE horizon SET oldest = max(oldest, $1) WHERE id = 1`, cut); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM accepted WHERE created < (SELECT oldest FROM horizon WHERE id = 1)`); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	return nil
}
