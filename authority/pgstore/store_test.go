package pgstore_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/keyblob/keyblob/authority"
	"github.com/keyblob/keyblob/authority/api"
	"github.com/keyblob/keyblob/authority/pgstore"
	"github.com/keyblob/keyblob/authority/storetest"
	"github.com/keyblob/keyblob/internal/pgtest"
)

func TestConformance(t *testing.T) {
	cluster := pgtest.Start(t)
	storetest.Run(t, func(t *testing.T) storetest.Open {
		dsn := cluster.NewDatabase(t)
		return func() (authority.Store, error) { return pgstore.Open(context.Background(), dsn) }
	})
}

// TestConcurrentMigrations opens one new database from many instances
// at once: the advisory lock lets one migrate, and the others find the
// schema in place.
func TestConcurrentMigrations(t *testing.T) {
	dsn := pgtest.Start(t).NewDatabase(t)
	const instances = 8
	stores := make([]*pgstore.Store, instances)
	errs := make([]error, instances)
	var wg sync.WaitGroup
	for i := range instances {
		wg.Go(func() { stores[i], errs[i] = pgstore.Open(t.Context(), dsn) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var version, heads int
	if err := conn.QueryRow(t.Context(), `SELECT version, (SELECT count(*) FROM audit_head) FROM authority_schema`).Scan(&version, &heads); err != nil {
		t.Fatal(err)
	}
	if version != schemaVersion(t) || heads != 1 {
		t.Fatalf("schema version %d with %d audit heads after concurrent opens", version, heads)
	}
	if err := stores[3].Ping(t.Context()); err != nil {
		t.Fatal(err)
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

// TestSchemaRefused refuses a database of a newer schema version, and
// one that holds another program's tables of the same names.
func TestSchemaRefused(t *testing.T) {
	cluster := pgtest.Start(t)
	for name, setup := range map[string]string{
		"newer":          `CREATE TABLE authority_schema (one BOOLEAN PRIMARY KEY DEFAULT TRUE, version INTEGER NOT NULL); INSERT INTO authority_schema (version) VALUES (999)`,
		"foreign owners": `CREATE TABLE owners (name text)`,
	} {
		t.Run(name, func(t *testing.T) {
			dsn := cluster.NewDatabase(t)
			conn, err := pgx.Connect(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			_, err = conn.Exec(t.Context(), setup)
			conn.Close(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			s, err := pgstore.Open(t.Context(), dsn)
			if err == nil {
				s.Close()
				t.Fatal("Open accepted the database")
			}
			if name == "newer" && !errors.Is(err, authority.ErrSchema) {
				t.Fatalf("Open = %v, want ErrSchema", err)
			}
		})
	}
}

// TestBadDSN checks that a connection string that does not parse is
// refused without repeating it (it may hold a password).
func TestBadDSN(t *testing.T) {
	_, err := pgstore.Open(t.Context(), "postgres://user:s3cret@127.0.0.1:notaport/db")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("Open = %v", err)
	}
}

// TestProbe writes the health row of a writable database, and reports a
// read-only one (default_transaction_read_only, as on a standby) as a
// WriteError naming it, which matches api.ErrStoreUnavailable.
func TestProbe(t *testing.T) {
	dsn := pgtest.Start(t).NewDatabase(t)
	s, err := pgstore.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Probe(t.Context()); err != nil {
		t.Fatalf("Probe of a writable database: %v", err)
	}
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var checked int64
	if err := conn.QueryRow(t.Context(), `SELECT checked FROM health WHERE id = 1`).Scan(&checked); err != nil || checked == 0 {
		t.Errorf("health row after a probe: %d, %v", checked, err)
	}
	// Read-only from now on, for the store's new connections: its
	// current ones are ended, so that the pool makes new ones.
	for _, q := range []string{
		`DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET default_transaction_read_only = on', current_database()); END $$`,
		`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
	} {
		if _, err := conn.Exec(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	var we *authority.WriteError
	for range 10 { // the first uses may meet an ended connection
		if err = s.Probe(t.Context()); errors.As(err, &we) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if we == nil || we.Reason != authority.WriteReadOnly || !errors.Is(err, api.ErrStoreUnavailable) {
		t.Fatalf("Probe of a read-only database: %v", err)
	}
}
