//go:build !unix

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// openSpecial opens name, whose Lstat is st, for writing in place. Where
// ownership cannot be checked as on Unix, only the null device (NUL) is
// accepted besides regular files.
func openSpecial(name string, st fs.FileInfo) (*os.File, error) {
	if !strings.EqualFold(name, os.DevNull) {
		return nil, refuseSpecial(name, st)
	}
	f, err := os.OpenFile(name, os.O_WRONLY, 0)
	if err != nil {
		return nil, withFallbackHint(err, "check the file name")
	}
	return f, nil
}

// dupDescriptor is refused: /dev/fd names exist only on Unix.
func dupDescriptor(fd int, name string) (*os.File, error) {
	return nil, fmt.Errorf("%s: %w", name, errors.ErrUnsupported)
}

// exposedMode reports whether a file of mode m may be read by others:
// where access is decided by ACLs, not mode bits, it cannot say, and
// reports false.
func exposedMode(fs.FileMode) bool { return false }
