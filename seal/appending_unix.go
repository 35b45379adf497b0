//go:build unix

package seal

import (
	"os"

	"golang.org/x/sys/unix"
)

// appending reports whether f was opened with O_APPEND, where writes at
// offsets are not allowed.
func appending(f *os.File) bool {
	flags, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
	return err != nil || flags&unix.O_APPEND != 0
}
