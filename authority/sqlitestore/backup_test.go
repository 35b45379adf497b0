package sqlitestore

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestBackupWhileOpen copies a store that another connection holds open
// with data only in its WAL: the copy opens as a store and holds the
// schema, is 0600, and an existing output is never replaced.
func TestBackupWhileOpen(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "authority.db")
	s, err := Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out := filepath.Join(dir, "backup.db")
	if err := Backup(context.Background(), dbPath, out); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(out)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v, %v", fi, err)
	}
	copyStore, err := Open(out)
	if err != nil {
		t.Fatalf("the backup does not open as a store: %v", err)
	}
	copyStore.Close()
	if err := Backup(context.Background(), dbPath, out); err == nil {
		t.Error("a backup replaced an existing file")
	}
	if err := Backup(context.Background(), filepath.Join(dir, "missing.db"), filepath.Join(dir, "b2.db")); err == nil {
		t.Error("a backup of a missing database succeeded")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() {
			t.Errorf("a temporary directory is left: %s", e.Name())
		}
	}
}
