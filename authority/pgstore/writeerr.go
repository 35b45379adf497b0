package pgstore

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/keyblob/keyblob/authority"
)

// writeReasons are the PostgreSQL error codes (SQLSTATE) that say the
// database cannot write, whatever the write.
var writeReasons = map[string]string{
	"53100": authority.WriteDiskFull, // disk_full
	"25006": authority.WriteReadOnly, // read_only_sql_transaction: a standby, or default_transaction_read_only
	"58030": authority.WriteIO,       // io_error
}

// writeError returns err as an *authority.WriteError if its SQLSTATE is
// one of writeReasons, else unchanged.
func writeError(err error) error {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		if reason, ok := writeReasons[e.Code]; ok {
			return &authority.WriteError{Reason: reason, Err: err}
		}
	}
	return err
}
