package sqlitestore

import (
	"context"
	"errors"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/keyblob/keyblob/authority"
	"github.com/keyblob/keyblob/authority/internal/sqlstore"
)

// Write runs f through the committer (sqlstore.DB.Write) and reports a
// database that cannot write as an *authority.WriteError.
func (d *sqliteDB) Write(ctx context.Context, f func(sqlstore.Tx) error) error {
	return writeError(d.committer.Write(ctx, f))
}

// writeReasons are the SQLite primary result codes that say the database
// cannot write, whatever the write: a full disk, a read-only file or
// mount, an I/O error.
var writeReasons = map[int]string{
	sqlite3.SQLITE_FULL:     authority.WriteDiskFull,
	sqlite3.SQLITE_READONLY: authority.WriteReadOnly,
	sqlite3.SQLITE_IOERR:    authority.WriteIO,
}

// writeError returns err as an *authority.WriteError if its SQLite code
// is one of writeReasons, else unchanged.
func writeError(err error) error {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return err
	}
	if reason, ok := writeReasons[e.Code()&0xff]; ok {
		return &authority.WriteError{Reason: reason, Err: err}
	}
	return err
}
