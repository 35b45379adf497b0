//go:build !linux

package atomicfile

import (
	"errors"
	"io/fs"
	"os"
)

// openUnnamed returns errors.ErrUnsupported: only Linux has O_TMPFILE.
func openUnnamed(string, fs.FileMode) (*os.File, error) { return nil, errors.ErrUnsupported }

// canLink reports false: there are no unnamed files to link.
func canLink(*os.File) bool { return false }

// linkUnnamed returns errors.ErrUnsupported: there are no unnamed files.
func linkUnnamed(*os.File, string) error { return errors.ErrUnsupported }
