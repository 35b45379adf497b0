// Package atomicfile writes files so that a reader, or a crash, sees either
// the old file or the whole new one: write to a temporary file in the same
// directory, fsync it, give it its name, fsync the directory. On Linux the
// temporary file is an unnamed O_TMPFILE file, linked into place only on
// Commit; elsewhere it has a temporary name that RemoveTemporaries removes
// when a signal stops the process. Spool gives scratch files that never
// have a name.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// ErrExist is returned when a file that must be created already exists.
var ErrExist = fs.ErrExist

// A File is a new file being written. Until Commit puts it in place whole
// it has no name where the system allows (an O_TMPFILE file on Linux), or
// a temporary name next to its final one that RemoveTemporaries, Abort or
// a failed Commit removes; so Abort, a signal the program handles, or
// (with O_TMPFILE) even SIGKILL or a crash leaves nothing under any name.
// It embeds the *os.File, so it can be written at offsets. A File is not
// safe for concurrent use.
type File struct {
	*os.File
	path      string
	temp      string // the temporary name; "" for an unnamed file
	noClobber bool
	done      bool // committed or aborted
}

// New starts a file that will appear at path with mode perm. With
// noClobber, Commit fails with ErrExist rather than replace a file.
func New(path string, perm fs.FileMode, noClobber bool) (*File, error) {
	f, err := newUnnamed(path, perm, noClobber)
	if errors.Is(err, errors.ErrUnsupported) {
		return newNamed(path, perm, noClobber)
	}
	return f, err
}

// newUnnamed starts a File as an unnamed file that Commit can link, or
// returns errors.ErrUnsupported.
func newUnnamed(path string, perm fs.FileMode, noClobber bool) (*File, error) {
	f, err := openUnnamed(filepath.Dir(path), perm)
	if err != nil {
		return nil, err
	}
	if !canLink(f) {
		f.Close()
		return nil, errors.ErrUnsupported
	}
	return &File{File: f, path: path, noClobber: noClobber}, nil
}

// newNamed starts a File as a named temporary file next to path.
func newNamed(path string, perm fs.FileMode, noClobber bool) (*File, error) {
	f, err := createNamed(filepath.Dir(path), filepath.Base(path), perm)
	if err != nil {
		return nil, err
	}
	return &File{File: f, path: path, temp: f.Name(), noClobber: noClobber}, nil
}

// Commit makes the file durable and puts it in place: fsync, then a name
// (see place), then fsync of the directory. On failure before the file is
// in place, its data is discarded.
func (f *File) Commit() error {
	err := f.Sync()
	if err == nil {
		err = f.placeAndClose()
	}
	if err != nil {
		err = f.named(err)
		f.Abort()
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s: %w", f.path, ErrExist)
		}
		return fmt.Errorf("writing %s: %w", f.path, err)
	}
	f.done = true
	return SyncDir(filepath.Dir(f.path))
}

// Write writes p to the file. An error names the file by its final path:
// the temporary name is never shown.
func (f *File) Write(p []byte) (int, error) {
	n, err := f.File.Write(p)
	return n, f.named(err)
}

// WriteAt writes p at offset off, with errors named as by Write.
func (f *File) WriteAt(p []byte, off int64) (int, error) {
	n, err := f.File.WriteAt(p, off)
	return n, f.named(err)
}

// named returns err with the final path in place of the temporary name
// of any *fs.PathError it is or wraps at the top.
func (f *File) named(err error) error {
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Path == f.path {
		return err
	}
	return &fs.PathError{Op: pe.Op, Path: f.path, Err: pe.Err}
}

// placeAndClose gives the file its final name and closes it. An unnamed
// file is linked while open (the link goes through its descriptor); a
// named one is closed first, as Windows renames only closed files.
func (f *File) placeAndClose() error {
	if f.temp == "" {
		err := f.linkUnnamed()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return f.placeNamed()
}

// linkUnnamed names the unnamed file: with noClobber, a link straight to
// the final name, which fails if it exists; otherwise a link to a fresh
// temporary name, then a rename over the final name. Only the committed,
// complete, synced data is ever named.
func (f *File) linkUnnamed() error {
	if f.noClobber {
		return linkUnnamed(f.File, f.path)
	}
	// Holding temporaries keeps the fresh name from outliving a signal:
	// RemoveTemporaries runs before the link or after the rename.
	temporaries.Lock()
	defer temporaries.Unlock()
	tmp, err := linkFresh(f.File, f.path)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, f.path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// linkFresh links the unnamed file to a new temporary name next to path
// and returns that name.
func linkFresh(f *os.File, path string) (string, error) {
	for range 10 {
		r := strconv.FormatUint(uint64(rand.Uint32()), 10) // as os.CreateTemp
		tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp-"+r)
		err := linkUnnamed(f, tmp)
		if !errors.Is(err, fs.ErrExist) {
			return tmp, err
		}
	}
	return "", fmt.Errorf("no free temporary name next to %s", path)
}

// placeNamed moves the closed temporary file to its name: rename, or
// (with noClobber) link, which never replaces a file, and unlink.
func (f *File) placeNamed() error {
	if !f.noClobber {
		err := os.Rename(f.temp, f.path)
		if err == nil {
			forgetNamed(f.temp)
		}
		return err
	}
	if err := os.Link(f.temp, f.path); err != nil {
		return err
	}
	removeNamed(f.temp)
	return nil
}

// Abort discards a file that was not committed. It does nothing after
// Commit or a first Abort.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.Close()
	if f.temp != "" {
		removeNamed(f.temp)
	}
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
