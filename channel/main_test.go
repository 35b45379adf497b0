package channel

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them,
// once the process's shared key pools, which live as long as the
// process, are closed.
func TestMain(m *testing.M) {
	code := m.Run()
	closeSharedPools()
	if err := goleak.Find(); err != nil && code == 0 {
		fmt.Fprintln(os.Stderr, "goleak:", err)
		code = 1
	}
	os.Exit(code)
}

// closeSharedPools closes and forgets the process's key pools.
func closeSharedPools() {
	sharedPools.Lock()
	defer sharedPools.Unlock()
	for bits, p := range sharedPools.m {
		p.Close()
		delete(sharedPools.m, bits)
	}
}
