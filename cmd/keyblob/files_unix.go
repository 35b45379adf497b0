//go:build unix

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// openSpecial opens name, whose Lstat is st, for writing in place. Only a
// character device or a FIFO owned by the user or by root is accepted:
// another user's FIFO at the output name, in a shared directory, would
// receive the plaintext. The open does not follow symbolic links
// (O_NOFOLLOW) and the opened file is checked again with fstat, so a node
// swapped in after the Lstat is refused before a byte is written.
//
// A FIFO is opened as a shell opens one for "> fifo": keyblob waits for a
// reader. Another user's FIFO is refused from the Lstat, before that wait.
// A device is opened without waiting (O_NONBLOCK), then written blocking.
func openSpecial(name string, st fs.FileInfo) (*os.File, error) {
	if err := checkSpecial(name, st); err != nil {
		return nil, err
	}
	flags := unix.O_WRONLY | unix.O_NOFOLLOW | unix.O_NOCTTY | unix.O_CLOEXEC
	if st.Mode()&fs.ModeNamedPipe == 0 {
		flags |= unix.O_NONBLOCK
	}
	fd, err := openRetry(name, flags)
	if err != nil {
		return nil, withFallbackHint(&fs.PathError{Op: "open", Path: name, Err: err}, "check the file name")
	}
	f := os.NewFile(uintptr(fd), name)
	if err := checkOpened(name, st, f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// openRetry is open(2), retried when a signal interrupts it.
func openRetry(name string, flags int) (int, error) {
	for {
		fd, err := unix.Open(name, flags, 0)
		if !errors.Is(err, unix.EINTR) {
			return fd, err
		}
	}
}

// checkOpened checks with fstat that f is the node that was checked as
// st, and makes it blocking for writing.
func checkOpened(name string, st fs.FileInfo, f *os.File) error {
	got, err := f.Stat()
	if err != nil {
		return err
	}
	if !os.SameFile(st, got) {
		return fmt.Errorf("%s changed while it was being opened; nothing was written", name)
	}
	if err := checkSpecial(name, got); err != nil {
		return err
	}
	return unix.SetNonblock(int(f.Fd()), false)
}

// checkSpecial accepts a character device or FIFO owned by the user or by
// root (so /dev/null, /dev/tty and the user's own FIFOs work).
func checkSpecial(name string, st fs.FileInfo) error {
	if st.Mode()&(fs.ModeNamedPipe|fs.ModeCharDevice) == 0 {
		return refuseSpecial(name, st)
	}
	uid := st.Sys().(*syscall.Stat_t).Uid
	if uid == 0 || uid == uint32(os.Geteuid()) {
		return nil
	}
	return withHint(fmt.Errorf("%s is a %s owned by %s, not by you or root: its owner could read what keyblob writes", name, nodeKind(st), userName(uid)),
		"remove it, or give another output name; keyblob writes a new file atomically")
}

// userName names a user id for messages: "user NAME (uid N)".
func userName(uid uint32) string {
	id := strconv.FormatUint(uint64(uid), 10)
	if u, err := user.LookupId(id); err == nil {
		return fmt.Sprintf("user %s (uid %s)", u.Username, id)
	}
	return "uid " + id
}

// dupDescriptor returns a copy of this process's descriptor fd, named
// name, so that closing the output leaves fd itself alone.
func dupDescriptor(fd int, name string) (*os.File, error) {
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "dup", Path: name, Err: err}
	}
	return os.NewFile(uintptr(nfd), name), nil
}

// exposedMode reports whether a file of mode m may be read or written by
// its group or by others.
func exposedMode(m fs.FileMode) bool { return m.Perm()&0o077 != 0 }
