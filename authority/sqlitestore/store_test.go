package sqlitestore_test

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/keyblob/keyblob/authority"
	"github.com/keyblob/keyblob/authority/api"
	"github.com/keyblob/keyblob/authority/sqlitestore"
	"github.com/keyblob/keyblob/authority/storetest"
	"github.com/keyblob/keyblob/internal/sqlitedb"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Open {
		path := filepath.Join(t.TempDir(), "authority.db")
		return func() (authority.Store, error) { return sqlitestore.Open(path) }
	})
}

// open opens a store at a new path, closed at the end of the test.
func open(t *testing.T) (*sqlitestore.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sub", "authority.db")
	s, err := sqlitestore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// rawDB opens the file with plain database/sql, as someone with access
// to the file would.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sqlitedb.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestFileModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	_, path := open(t)
	for name, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700 | os.ModeDir} {
		fi, err := os.Stat(name)
		if err != nil || fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v (%v)", name, fi.Mode(), want, err)
		}
	}
}

func TestSchemaRefused(t *testing.T) {
	tests := []struct {
		name  string
		setup string
	}{
		{"another program's tables", `CREATE TABLE notes (text TEXT)`},
		{"a newer version", `PRAGMA application_id = 1801612385; PRAGMA user_version = 99`},
		{"another application", `PRAGMA application_id = 42; PRAGMA user_version = 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.db")
			db := rawDB(t, path)
			if _, err := db.Exec(tt.setup); err != nil {
				t.Fatal(err)
			}
			db.Close()
			if s, err := sqlitestore.Open(path); !errors.Is(err, authority.ErrSchema) {
				if s != nil {
					s.Close()
				}
				t.Fatalf("Open = %v, want ErrSchema", err)
			}
		})
	}
}

// TestReopenKeepsSchema opens a store three times: the migrations run
// once.
func TestReopenKeepsSchema(t *testing.T) {
	s, path := open(t)
	o := authority.Owner{ID: [32]byte{1}, Recipient: "r", Signer: [32]byte{1}, Verifier: []byte{1}, Created: time.Now()}
	if _, err := s.CreateOwner(t.Context(), o, api.AuditEntry{Time: time.Now(), Kind: api.AuditEnroll, Owner: o.ID}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for range 2 {
		s, err := sqlitestore.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Owner(t.Context(), o.ID); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	var version int
	if err := rawDB(t, path).QueryRow(`PRAGMA user_version`).Scan(&version); err != nil || version != schemaVersion(t) {
		t.Fatalf("user_version %d, %v", version, err)
	}
}

// TestTamperedLogNamed edits, deletes and inserts audit rows with SQL,
// as someone with the file could, and checks that verification through
// the store names the row; and that the database is intact.
func TestTamperedLogNamed(t *testing.T) {
	tests := []struct {
		name, sql string
		want      api.ChainError
	}{
		{"edited detail", `UPDATE audit SET detail = X'7b7d20' WHERE seq = 3`, api.ChainError{Seq: 3, Problem: api.Edited}},
		{"edited owner", `UPDATE audit SET owner = zeroblob(32) WHERE seq = 5`, api.ChainError{Seq: 5, Problem: api.Edited}},
		{"deleted", `DELETE FROM audit WHERE seq = 2`, api.ChainError{Seq: 2, Problem: api.Deleted}},
		{"deleted and renumbered", `DELETE FROM audit WHERE seq = 2; UPDATE audit SET seq = seq - 1 WHERE seq > 2`,
			api.ChainError{Seq: 2, Problem: api.Broken}},
		{"inserted", `UPDATE audit SET seq = seq + 100 WHERE seq >= 4; UPDATE audit SET seq = seq - 99 WHERE seq >= 104;
			INSERT INTO audit SELECT 4, time, kind, owner, actor, ref, X'7b7d', prev, hash, salt FROM audit WHERE seq = 3`,
			api.ChainError{Seq: 4, Problem: api.Inserted}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, path := open(t)
			fill(t, s, 6)
			if _, err := api.VerifyChain(authority.Entries(t.Context(), s)); err != nil {
				t.Fatalf("the untouched log: %v", err)
			}
			if _, err := rawDB(t, path).Exec(tt.sql); err != nil {
				t.Fatal(err)
			}
			_, err := api.VerifyChain(authority.Entries(t.Context(), s))
			var ce *api.ChainError
			if !errors.As(err, &ce) || *ce != tt.want {
				t.Fatalf("VerifyChain = %v, want %v", err, &tt.want)
			}
			var ok string
			if err := rawDB(t, path).QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
				t.Fatalf("integrity_check: %q, %v", ok, err)
			}
		})
	}
}

// fill appends n entries: an enrolment and deposits.
func fill(t *testing.T, s authority.Store, n int) {
	t.Helper()
	o := authority.Owner{ID: [32]byte{7}, Recipient: "r", Signer: [32]byte{7}, Verifier: []byte{1}, Created: time.Now()}
	e := func(k api.AuditKind, detail string) api.AuditEntry {
		return api.AuditEntry{Time: time.Now(), Kind: k, Owner: o.ID, Actor: o.ID, Detail: detail}
	}
	if _, err := s.CreateOwner(t.Context(), o, e(api.AuditEnroll, "{}")); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < n; i++ {
		d := authority.Deposit{Owner: o.ID, Serial: [16]byte{byte(i)}, Blob: []byte{1}, Signer: o.ID, Created: time.Now(), Deposited: time.Now()}
		n := authority.Nonce{Signer: o.ID, Value: [16]byte{byte(i)}, Expires: time.Now()}
		if _, err := s.PutDeposit(t.Context(), n, d, e(api.AuditDeposit, fmt.Sprintf(`{"n":%d}`, i))); err != nil {
			t.Fatal(err)
		}
	}
}

// schemaVersion is the schema version this code migrates to: the number
// of its migrations.
func schemaVersion(t *testing.T) int {
	files, err := filepath.Glob(filepath.Join("migrations", "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations: %v", err)
	}
	return len(files)
}

// TestProbe sets the health row: a real write, committed.
func TestProbe(t *testing.T) {
	s, path := open(t)
	before := time.Now().UnixNano()
	if err := s.Probe(t.Context()); err != nil {
		t.Fatal(err)
	}
	var checked int64
	if err := rawDB(t, path).QueryRow(`SELECT checked FROM health WHERE id = 1`).Scan(&checked); err != nil || checked < before {
		t.Fatalf("health row %d after a probe at %d: %v", checked, before, err)
	}
	var _ authority.Prober = s
}
