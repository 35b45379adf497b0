package atomicfile

import (
	"errors"
	"os"
)

// Spool returns a new private (mode 0600) read-write temporary file in
// dir, or in os.TempDir() when dir is "", that has no name while it holds
// data: on Linux it is opened with O_TMPFILE; on other Unix systems (and
// Linux file systems without O_TMPFILE) it is created and unlinked before
// Spool returns, before any byte is written; on Windows it is a named file
// opened with FILE_FLAG_DELETE_ON_CLOSE, which Windows removes when it is
// closed or the process dies, and which no other open can share. Closing
// the file, or the death of the process by any signal, frees it and its
// data; nothing is left in dir. The caller must close it.
func Spool(dir string) (*os.File, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	f, err := openUnnamed(dir, 0o600)
	if errors.Is(err, errors.ErrUnsupported) {
		return spoolNamed(dir)
	}
	return f, err
}
