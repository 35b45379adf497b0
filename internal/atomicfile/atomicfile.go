// Package atomicfile writes files so that a reader, or a crash, sees either
// the old file or the whole new one: write to a temporary file in the same
// directory, fsync it, rename it into place, fsync the directory.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// ErrExist is returned when a file that must be created already exists.
var ErrExist = fs.ErrExist

// A File is a new file being written. It is a temporary file until Commit
// puts it in place whole; Abort, or a crash, leaves nothing under its name.
// It embeds the *os.File, so it can be written at offsets. A File is not
// safe for concurrent use.
type File struct {
	*os.File
	path      string
	noClobber bool
	done      bool // committed or aborted
}

// New starts a file that will appear at path with mode perm. With
// noClobber, Commit fails with ErrExist rather than replace a file.
func New(path string, perm fs.FileMode, noClobber bool) (*File, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, err
	}
	return &File{File: tmp, path: path, noClobber: noClobber}, nil
}

// Commit makes the file durable and puts it in place: fsync, then rename
// (or link, which never replaces a file, with noClobber), then fsync of the
// directory. On failure before the file is in place, the temporary file is
// removed.
func (f *File) Commit() error {
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = f.place()
	}
	if err != nil {
		f.Abort()
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s: %w", f.path, ErrExist)
		}
		return fmt.Errorf("writing %s: %w", f.path, err)
	}
	f.done = true
	return SyncDir(filepath.Dir(f.path))
}

// place moves the temporary file to its name.
func (f *File) place() error {
	if !f.noClobber {
		return os.Rename(f.Name(), f.path)
	}
	if err := os.Link(f.Name(), f.path); err != nil {
		return err
	}
	return os.Remove(f.Name())
}

// Abort discards a file that was not committed. It does nothing after
// Commit or a first Abort.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.Close()
	os.Remove(f.Name())
}

// WriteFile atomically replaces path with data, with mode perm.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	return write(path, data, perm, false)
}

// Create atomically creates path with data and mode perm, and fails with
// an error matching ErrExist if path exists.
func Create(path string, data []byte, perm fs.FileMode) error {
	return write(path, data, perm, true)
}

func write(path string, data []byte, perm fs.FileMode, noClobber bool) error {
	f, err := New(path, perm, noClobber)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Abort()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Commit()
}

// SyncDir makes renames and removals in dir durable. File systems that
// cannot sync a directory (they answer EINVAL or "unsupported") are not an
// error: the file data itself was synced before.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	err = d.Sync()
	if errors.Is(err, errors.ErrUnsupported) || errors.Is(err, syscall.EINVAL) {
		return nil
	}
	return err
}

// Remove removes path and makes the removal durable.
func Remove(path string) error {
	if err := os.Remove(path); err != nil {
		return err
	}
	return SyncDir(filepath.Dir(path))
}
