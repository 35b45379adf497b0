package atomicfile

import (
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"

	"golang.org/x/sys/windows"
)

// spoolNamed creates a file in dir that Windows deletes when its handle
// is closed, including when the process dies: FILE_FLAG_DELETE_ON_CLOSE.
// It is opened with no sharing, so no other process can open it while it
// exists. Its access is that inherited from dir (the user's own
// temporary directory by default).
func spoolNamed(dir string) (*os.File, error) {
	for range 10 {
		name := filepath.Join(dir, ".spool-"+rand.Text())
		f, err := createDeleteOnClose(name)
		if !errors.Is(err, windows.ERROR_FILE_EXISTS) {
			return f, err
		}
	}
	return nil, &os.PathError{Op: "create", Path: dir, Err: windows.ERROR_FILE_EXISTS}
}

// createDeleteOnClose creates name for reading and writing, deleted on
// close.
func createDeleteOnClose(name string) (*os.File, error) {
	p, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return nil, err
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ|windows.GENERIC_WRITE, 0, nil,
		windows.CREATE_NEW, windows.FILE_ATTRIBUTE_TEMPORARY|windows.FILE_FLAG_DELETE_ON_CLOSE, 0)
	if err != nil {
		return nil, &os.PathError{Op: "create", Path: name, Err: err}
	}
	return os.NewFile(uintptr(h), name), nil
}
