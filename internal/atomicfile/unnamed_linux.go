package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// openUnnamed opens a new read-write file in dir with mode perm that has
// no name: O_TMPFILE. The kernel frees it when it is closed or the
// process dies, so no signal, crash or SIGKILL can leave its data under
// any name. It returns errors.ErrUnsupported where the kernel or the file
// system has no O_TMPFILE (EISDIR from kernels before 3.11, EOPNOTSUPP
// from file systems such as some network ones).
func openUnnamed(dir string, perm fs.FileMode) (*os.File, error) {
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, uint32(perm.Perm()))
	switch {
	case errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.EISDIR), errors.Is(err, unix.EINVAL):
		return nil, errors.ErrUnsupported
	case err != nil:
		return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	f := os.NewFile(uintptr(fd), filepath.Join(dir, "(unnamed temporary file)"))
	// The mode passed to open went through the umask; set it exactly.
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// canLink reports whether linkUnnamed can give f a name: it links through
// /proc/self/fd, which is missing where /proc is not mounted.
func canLink(f *os.File) bool {
	_, err := os.Lstat(procPath(f))
	return err == nil
}

// linkUnnamed gives the unnamed file f the name path. It never replaces a
// file: if path exists, the error matches fs.ErrExist.
func linkUnnamed(f *os.File, path string) error {
	err := unix.Linkat(unix.AT_FDCWD, procPath(f), unix.AT_FDCWD, path, unix.AT_SYMLINK_FOLLOW)
	if err != nil {
		return &os.LinkError{Op: "link", Old: f.Name(), New: path, Err: err}
	}
	return nil
}

// procPath names f's descriptor in /proc: linkat with AT_SYMLINK_FOLLOW
// on it links the open file itself, with no privilege (AT_EMPTY_PATH
// would need CAP_DAC_READ_SEARCH on older kernels).
func procPath(f *os.File) string {
	return "/proc/self/fd/" + strconv.FormatUint(uint64(f.Fd()), 10)
}
