//go:build unix

package keystore

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// tryLock takes a BSD flock(2) exclusive lock on f without waiting. It
// reports false, with no error, if another descriptor holds it.
func tryLock(f *os.File) (bool, error) {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

// unlock releases tryLock's lock; closing f releases it too.
func unlock(f *os.File) { unix.Flock(int(f.Fd()), unix.LOCK_UN) }
