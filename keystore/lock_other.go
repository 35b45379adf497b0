//go:build !unix && !windows

package keystore

import (
	"errors"
	"os"
)

// tryLock fails: this system has no file lock the store can rely on, so
// the store is read-only here.
func tryLock(f *os.File) (bool, error) {
	return false, errors.New("file locking is not supported on this system")
}

// unlock does nothing.
func unlock(f *os.File) {}
