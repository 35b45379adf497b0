package main

import (
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

// stdOutput handles the output names that are symbolic links to this
// process's own descriptors: /dev/stdout, /dev/stderr and /dev/fd/N (on
// Linux, links into /proc/self/fd). They are the only names resolved, and
// they are not followed as paths: the descriptor the process already holds
// is written, so no other user's file can be reached through them, and a
// redirection to a regular file is written where the shell put it rather
// than by renaming a file over /dev/stdout. ok is false for other names.
func (e *env) stdOutput(name string, opts outputOptions) (out *output, ok bool, err error) {
	switch name {
	case "/dev/stdout", "/dev/fd/1":
		out, err = streamOutput(e.stdout, name, nil, opts)
		return out, true, err
	case "/dev/stderr", "/dev/fd/2":
		out, err = streamOutput(e.stderr, name, nil, opts)
		return out, true, err
	}
	n, isFD := strings.CutPrefix(name, "/dev/fd/")
	fd, err := strconv.Atoi(n)
	if !isFD || err != nil || fd < 0 || strconv.Itoa(fd) != n {
		return nil, false, nil
	}
	f, err := dupDescriptor(fd, name)
	if err != nil {
		return nil, true, withHint(err, "%s names a descriptor this process does not have", name)
	}
	out, err = streamOutput(f, name, f, opts)
	return out, true, err
}

// specialOutput opens an existing name that is not a regular file, to be
// written in place as stdout is: only a character device (/dev/null) or
// a FIFO that the user or root owns (see openSpecial). Renaming a
// temporary file over it instead would replace the node itself: run as
// root, "-o /dev/null" would turn /dev/null into a regular file. A
// symbolic link is refused: following it would write wherever another
// user pointed it.
func specialOutput(name string, st fs.FileInfo, opts outputOptions) (*output, error) {
	switch {
	case st.Mode()&fs.ModeSymlink != 0:
		return nil, symlinkRefused(name)
	case st.IsDir():
		return nil, withHint(fmt.Errorf("%s is a directory, not a file", name), "give a file name to -o")
	}
	f, err := openSpecial(name, st)
	if err != nil {
		return nil, err
	}
	return streamOutput(f, name, f, opts)
}

// symlinkRefused is the error for an output name that is a symbolic link,
// dangling or not: following it would write wherever it points.
func symlinkRefused(name string) error {
	return withHint(fmt.Errorf("%s is a symbolic link: keyblob does not write through symbolic links", name),
		"give the real path of the file (or -, or /dev/stdout)")
}

// refuseSpecial is the error for a node that is neither a character
// device nor a FIFO (a socket, a block device).
func refuseSpecial(name string, st fs.FileInfo) error {
	return withHint(fmt.Errorf("%s is a %s: keyblob writes only to files, character devices and pipes", name, nodeKind(st)),
		"give the name of a file, or - for stdout")
}

// nodeKind names the kind of a file system node for messages.
func nodeKind(st fs.FileInfo) string {
	switch m := st.Mode(); {
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	case m&fs.ModeSocket != 0:
		return "socket"
	}
	return "special file"
}
