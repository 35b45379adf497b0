package authoritytest_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority/authoritytest"
	"github.com/keyblob/keyblob/password"
)

// TestMain makes the test binary the server process when the tests
// re-execute it as one.
func TestMain(m *testing.M) {
	authoritytest.ServeIfHelper()
	os.Exit(m.Run())
}

// fastArgon2 is the smallest Argon2id the limits allow: these tests are
// about storage, not about the cost of a code check.
var fastArgon2 = password.Params{Time: 1, MemoryKiB: password.MinMemoryKiB, Threads: 1}

// newIdentity returns a new identity of the default (hybrid) kind.
func newIdentity(t testing.TB) *keyblob.Identity {
	t.Helper()
	id, err := keyblob.GenerateIdentity(keyblob.KindHybrid)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// startServer starts a server process of this test binary on db, named
// name in dir, and stops it when the test ends.
func startServer(t *testing.T, dir, name, db string, aut *keyblob.Identity) *authoritytest.Server {
	t.Helper()
	idPath := filepath.Join(dir, "authority.pem")
	if _, err := os.Stat(idPath); err != nil {
		if err := authoritytest.WriteIdentity(idPath, aut); err != nil {
			t.Fatal(err)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg := authoritytest.ServerConfig{DB: db, Identity: idPath, AddrFile: filepath.Join(dir, name+".addr"), Argon2: fastArgon2}
	srv, err := authoritytest.StartServer(exe, cfg, filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("stopping %s: %v", name, err)
		}
		if t.Failed() {
			logTail(t, srv.LogPath())
		}
	})
	return srv
}

// logTail shows the end of a server's log.
func logTail(t *testing.T, path string) {
	b, _ := os.ReadFile(path)
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	t.Logf("%s:\n%s", path, b)
}
