package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/keyblob/keyblob/internal/atomicfile"
	"github.com/keyblob/keyblob/internal/format"
)

// File modes: secrets (identities, session keys, decrypted data) are
// readable by the owner only; everything else is public.
const (
	modeSecret fs.FileMode = 0o600
	modePublic fs.FileMode = 0o644
)

// stdinFile is stdin as an input: a file that the command must not close.
type stdinFile struct{ *os.File }

func (stdinFile) Close() error { return nil }

// inputFile returns the file behind an input, if there is one.
func inputFile(in io.Reader) (*os.File, bool) {
	switch f := in.(type) {
	case *os.File:
		return f, true
	case stdinFile:
		return f.File, true
	}
	return nil, false
}

// maxSmallFile bounds key, recipient and blob files read whole.
const maxSmallFile = 64 << 10

// isStdio reports whether a file argument means stdin or stdout.
func isStdio(name string) bool { return name == "" || name == "-" }

// hintName is how a hint names a file argument to use in a command:
// "FILE" for stdin, which the hint's command cannot read again.
func hintName(name string) string {
	if isStdio(name) {
		return "FILE"
	}
	return name
}

// shownName is how messages name an input file argument: "stdin" for
// stdin.
func shownName(name string) string {
	if isStdio(name) {
		return "stdin"
	}
	return name
}

// openInput opens the input file argument, "-" or "" meaning stdin. The
// caller closes the result.
func (e *env) openInput(name string) (io.ReadCloser, error) {
	return e.openInputFor(name, "input")
}

// openInputFor opens a file argument that holds what, "-" or "" meaning
// stdin, which only one argument may use (claimStdin). The caller closes
// the result.
func (e *env) openInputFor(name, what string) (io.ReadCloser, error) {
	if isStdio(name) {
		if err := e.claimStdin(what); err != nil {
			return nil, err
		}
		if f, ok := e.stdin.(*os.File); ok {
			return stdinFile{f}, nil // keeps the file, for the fast paths
		}
		return io.NopCloser(e.stdin), nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, withFallbackHint(err, "check the file name")
	}
	// A directory opens, then fails on the first read with a bare
	// "is a directory"; say so up front, with the same advice.
	if st, err := f.Stat(); err == nil && st.IsDir() {
		f.Close()
		return nil, withHint(fmt.Errorf("%s is a directory, not a file", name), "check the file name")
	}
	return f, nil
}

// readSmall reads a whole small file argument ("-" for stdin).
func (e *env) readSmall(name, what string) ([]byte, error) {
	return e.readLimited(name, what, maxSmallFile)
}

// warnExposed warns, as ssh and gpg do, when the file argument name that
// held a secret (an identity, a session key, a recovery code) is a regular
// file that group or others may read or change. It is called once the
// secret parsed, so a wrong file gets its own error, not this warning; the
// secret is still used: the warning is for the next time.
func (e *env) warnExposed(name, what string) {
	if isStdio(name) {
		return
	}
	st, err := os.Stat(name)
	if err != nil || !st.Mode().IsRegular() || !exposedMode(st.Mode()) {
		return
	}
	fmt.Fprintf(e.stderr, "keyblob: warning: %s file %s is open to group or others (mode %04o); 'chmod 600 %s' makes it yours alone\n",
		what, name, st.Mode().Perm(), name)
}

// readLimited reads a whole file argument ("-" for stdin) of at most limit
// bytes, refusing a longer one before reading the rest.
func (e *env) readLimited(name, what string, limit int64) ([]byte, error) {
	r, err := e.openInputFor(name, what)
	var u *usageError
	if errors.As(err, &u) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	defer r.Close()
	data, err := format.ReadAll(r, limit)
	switch {
	case errors.Is(err, format.ErrTooLarge):
		return nil, fmt.Errorf("%s %s is over %d KiB: not a keyblob file of that kind", what, shownName(name), limit>>10)
	case err != nil:
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	return data, nil
}

// output is where a command writes its result: stdout, or a file that
// appears atomically, with its final mode, only when Commit succeeds.
type output struct {
	w       io.Writer
	path    string           // final path; empty for stdout
	tmp     *atomicfile.File // the new file, until committed
	dev     *os.File         // an opened device or pipe, written in place
	written bool             // Commit succeeded
}

// outputOptions say how an output may be created.
type outputOptions struct {
	mode    fs.FileMode
	binary  bool // refuse to write to a terminal
	replace bool // replace an existing file (--force); else refuse
	// key marks a key file (an identity, a session key): it must be a
	// new file, so without replace even an existing FIFO or device at
	// the name is refused, where other outputs write into one.
	key bool
}

// createOutput prepares the output named by a -o argument ("" or "-" for
// stdout). A new name is written to a temporary file that has no name
// until Commit (see atomicfile). An existing regular file is refused
// unless opts.replace (--force); then it is replaced, never written in
// place. An existing non-regular file is written in place only if it is
// safe (see specialOutput); a key output (opts.key) takes only a
// character device (/dev/null) that way, as a key printed to stdout
// would be, and refuses a FIFO without --force. A symbolic link, even a
// dangling one, is refused as one (symlinkRefused). The output name is never followed as a symbolic link,
// except for the descriptor names /dev/stdout, /dev/stderr and /dev/fd/N
// (see stdOutput).
func (e *env) createOutput(name string, opts outputOptions) (*output, error) {
	if isStdio(name) {
		return streamOutput(e.stdout, "", nil, opts)
	}
	if out, ok, err := e.stdOutput(name, opts); ok {
		return out, err
	}
	st, err := os.Lstat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		e.fileOutput = true
		return newFileOutput(name, opts)
	case err != nil:
		return nil, withFallbackHint(err, "check the file name")
	case st.Mode()&fs.ModeSymlink != 0:
		return nil, symlinkRefused(name)
	case !opts.replace && (st.Mode().IsRegular() || opts.key && st.Mode()&fs.ModeCharDevice == 0):
		return nil, withHint(fmt.Errorf("%s already exists", name),
			"choose another file name, or add --force to replace it")
	case st.Mode().IsRegular():
		e.fileOutput = true
		return newFileOutput(name, opts)
	}
	return specialOutput(name, st, opts)
}

// newFileOutput starts a new file at name, put in place on Commit. Should
// another node appear at name meanwhile (a FIFO, a symbolic link), Commit
// replaces it or, unless opts.replace, fails: it is never written through.
func newFileOutput(name string, opts outputOptions) (*output, error) {
	tmp, err := atomicfile.New(name, opts.mode, !opts.replace)
	if err != nil {
		return nil, withHint(err, "check that the directory of %s exists and is writable", name)
	}
	// The fast paths write at offsets, so they get the *os.File itself.
	return &output{w: tmp, path: name, tmp: tmp}, nil
}

// streamOutput writes in place to w (stdout, a device or a pipe); dev, if
// not nil, is closed on Commit or Abort.
func streamOutput(w io.Writer, name string, dev *os.File, opts outputOptions) (*output, error) {
	if opts.binary && isTerminal(w) {
		if dev != nil {
			dev.Close()
		}
		return nil, withHint(errors.New("refusing to write binary output to a terminal"),
			"use -o FILE, or redirect the output")
	}
	return &output{w: w, path: name, dev: dev}, nil
}

// streamed reports whether the output is written as it goes (stdout, a
// device or a pipe), so that what was written before an error stays.
func (o *output) streamed() bool { return o.tmp == nil }

// target returns what the output writes to: the temporary file itself,
// the device, or stdout, so that fast paths can see a regular file.
func (o *output) target() io.Writer { return o.w }

// Write writes to the output.
func (o *output) Write(p []byte) (int, error) { return o.w.Write(p) }

// Commit makes a file output durable and visible under its name (see
// atomicfile.File.Commit); a device output is closed.
func (o *output) Commit() error {
	var err error
	switch {
	case o.dev != nil:
		err = o.dev.Close()
	case o.tmp != nil:
		err = o.tmp.Commit()
	}
	if errors.Is(err, atomicfile.ErrExist) {
		return fmt.Errorf("%s already exists", o.path)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", o.path, err)
	}
	o.written = true
	return nil
}

// Abort discards an output that was not committed: the temporary file is
// removed, so no partial file is ever left under the final name.
func (o *output) Abort() {
	switch {
	case o.written:
	case o.dev != nil:
		o.dev.Close()
	case o.tmp != nil:
		o.tmp.Abort()
	}
}

// writeOutput writes data to a new output and commits it.
func (e *env) writeOutput(name string, data []byte, opts outputOptions) error {
	out, err := e.createOutput(name, opts)
	if err != nil {
		return err
	}
	if _, err := out.Write(data); err != nil {
		out.Abort()
		return err
	}
	return out.Commit()
}

// isTerminal reports whether w is a terminal.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// outputTo is where -o and --force say a command writes.
type outputTo struct {
	name  string // "" or "-" for stdout
	force bool   // replace an existing file
}

// outputFlag adds -o FILE (usage says what goes there) and --force to c.
// No output replaces an existing file without --force, and --force means
// nothing without -o FILE.
func outputFlag(c *cobra.Command, out *string, force *bool, usage string) {
	c.Flags().StringVarP(out, "output", "o", "", usage)
	c.Flags().BoolVar(force, "force", false, "replace an existing -o file")
	requireWith(c, "force", "output")
}
