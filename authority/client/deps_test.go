package client_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies checks that a program that only talks to an authority
// links neither the service, nor a store, nor prometheus.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	forbidden := []string{
		"github.com/keyblob/keyblob/authority",
		"github.com/keyblob/keyblob/authority/sqlitestore",
		"github.com/keyblob/keyblob/authority/pgstore",
		"github.com/keyblob/keyblob/authority/internal/sqlstore",
		"github.com/prometheus/",
		"database/sql",
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if dep == f || (strings.HasSuffix(f, "/") && strings.HasPrefix(dep, f)) {
				t.Errorf("package client links %s", dep)
			}
		}
	}
}
