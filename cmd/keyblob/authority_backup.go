package main

// keyblob authority backup: a consistent copy of the authority's SQLite
// database while it serves (VACUUM INTO), for the backups the README's
// advice asks for: copying the file alone misses what is still in its
// -wal file.

import (
	"fmt"

	"github.com/keyblob/keyblob/authority/sqlitestore"
	"github.com/spf13/cobra"
)

func newAuthorityBackupCmd(e *env) *cobra.Command {
	var dir, out string
	var db dbValue
	c := &cobra.Command{
		Use:   "backup --dir DIR [--db sqlite:PATH] -o FILE",
		Short: "Write a consistent copy of the authority's SQLite database, while it serves",
		Long: `backup writes a consistent copy of the authority's database (default
DIR/authority.db) to FILE, which must not exist, while 'authority serve'
goes on: SQLite's VACUUM INTO reads one snapshot, including what is still
only in the database's -wal file (a copy of the .db file alone can miss
it, and after a full disk everything may be there). The copy is 0600 and
appears under FILE only when complete. A PostgreSQL authority is backed up
with PostgreSQL's own tools (pg_dump).`,
		Args: argsExactly(0),
		RunE: func(c *cobra.Command, _ []string) error {
			if err := required(c, "dir", "output"); err != nil {
				return err
			}
			path := db.sqlitePath(dir)
			if path == "" {
				return withHint(usagef("authority backup copies a SQLite database; this authority's is PostgreSQL"),
					"use pg_dump (or the server's own backups) for PostgreSQL")
			}
			if err := sqlitestore.Backup(c.Context(), path, out); err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "keyblob: backed up %s to %s\n", path, out)
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "the authority's `DIR`")
	c.Flags().Var(&db, "db", "the database: sqlite:PATH (default sqlite:DIR/authority.db)")
	c.Flags().StringVarP(&out, "output", "o", "", "write the copy to `FILE` (it must not exist)")
	return c
}
