// Package keystore is keyblob's local key store (spec/keystore.md): named
// identities encrypted at rest under a passphrase, named contacts
// (recipients), and named session keys stored as key blobs wrapped to one
// of your identities and signed by it (CryptoAPI's "Storing Session Keys"). Identities and contacts
// share one name space. Beside each identity a generation record lets a
// reader refuse an identity file rolled back to before a rotation.
//
// The store is a directory of small files. Every write is atomic (temporary
// file, fsync, rename, directory fsync) and made under an exclusive file
// lock, so concurrent processes and crashes leave either the old state or
// the new one. Reads take no lock: each file is replaced whole.
package keystore

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/keyblob/keyblob/internal/atomicfile"
	"github.com/keyblob/keyblob/internal/format"
	"github.com/keyblob/keyblob/password"
)

// Directories of a store.
const (
	identitiesDir = "identities"
	contactsDir   = "contacts"
	keysDir       = "keys"
	lockFile      = "lock"
)

// DefaultLockTimeout is how long a write waits for another process's lock.
const DefaultLockTimeout = 30 * time.Second

var (
	// ErrNoStore is returned when the store directory does not exist.
	ErrNoStore = errors.New("no key store")
	// ErrLocked is returned when another process holds the store's lock
	// for longer than the lock timeout.
	ErrLocked = errors.New("the key store is locked by another process")
	// ErrNotFound is returned for a name that is not in the store.
	ErrNotFound = errors.New("not found")
	// ErrExists is returned when a name is already taken.
	ErrExists = errors.New("already exists")
	// ErrBadName is returned for a name that cannot be stored.
	ErrBadName = errors.New("bad name (use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit)")
)

// A Store is a key store directory. It is safe for concurrent use by
// goroutines and processes; its options are fixed when it is opened.
type Store struct {
	dir  string
	opts Options
}

// Options say how to use a store. The zero value, or nil, means the
// defaults.
type Options struct {
	// LockTimeout bounds the wait for another process's lock; zero means
	// DefaultLockTimeout.
	LockTimeout time.Duration
	// Params are the Argon2id costs of the identities the store
	// encrypts (new, imported and rotated); the zero value means
	// password.Defaults(). Their salt is ignored: every file gets a new
	// one. Identities already stored keep the costs recorded in their
	// file. Lower costs are for tests.
	Params password.Params
}

// Open returns the existing store in dir: a missing directory is
// ErrNoStore.
func Open(dir string, opts *Options) (*Store, error) {
	return open(dir, opts, false)
}

// Create returns the store in dir, making its directories (mode 0700)
// if they do not exist.
func Create(dir string, opts *Options) (*Store, error) {
	return open(dir, opts, true)
}

func open(dir string, opts *Options, create bool) (*Store, error) {
	s := &Store{dir: dir}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.Params == (password.Params{}) {
		s.opts.Params = password.Defaults()
	}
	if err := s.opts.Params.Check(); err != nil {
		return nil, fmt.Errorf("identity costs: %w", err)
	}
	if err := checkDir(dir, create); err != nil {
		return nil, err
	}
	if create {
		if err := makeDirs(dir); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// makeDirs makes the store's directories that do not exist.
func makeDirs(dir string) error {
	for _, sub := range []string{"", identitiesDir, contactsDir, keysDir} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return err
		}
	}
	return nil
}

// checkDir checks that dir is a directory, or, with create, missing.
func checkDir(dir string, create bool) error {
	st, err := os.Stat(dir)
	switch {
	case err == nil && !st.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	case errors.Is(err, fs.ErrNotExist) && !create:
		return fmt.Errorf("%w at %s", ErrNoStore, dir)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return err
	}
	return nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// CheckName reports whether name can name an entry: it must not be able
// to reach outside the store.
func CheckName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%w: %q", ErrBadName, name)
	}
	return nil
}

// path returns the file of an entry, after checking the name.
func (s *Store) path(sub, name, ext string) (string, error) {
	if err := CheckName(name); err != nil {
		return "", err
	}
	return filepath.Join(s.dir, sub, name+ext), nil
}

// list returns the names of the entries of a kind, sorted.
func (s *Store) list(sub, ext string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(s.dir, sub, "*"+ext))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, m := range matches {
		name := filepath.Base(m)
		name = name[:len(name)-len(ext)]
		if CheckName(name) == nil {
			names = append(names, name)
		}
	}
	return names, nil
}

// readEntry reads an entry's file, bounded in size by maxEntrySize.
func readEntry(path, what, name string) ([]byte, error) {
	return readEntryMax(path, what, name, maxEntrySize)
}

// readEntryMax is readEntry with a smaller bound, for entries that are
// never that large: a larger file fails with format.ErrTooLarge, read no
// further.
func readEntryMax(path, what, name string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s %q", ErrNotFound, what, name)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := format.ReadAll(f, limit)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", what, name, err)
	}
	return data, nil
}

// maxEntrySize bounds every entry file.
const maxEntrySize = 1 << 20

// An entry is one file of the store, as the write helpers take it: where
// it is, its mode, and what kind of entry of which name it is, for errors.
type entry struct {
	path, what, name string
	mode             fs.FileMode
}

// A write is what writeEntry writes.
type write struct {
	entry
	data []byte
	// replace atomically replaces an existing file; otherwise the file is
	// created, and an existing one is ErrExists.
	replace bool
	// check, if not nil, runs first under the lock, and nothing is
	// written if it fails: a check made before taking the lock could be
	// stale by the time of the write.
	check func() error
}

// writeEntry makes w under the lock.
func (s *Store) writeEntry(w write) error {
	return s.withLock(func() error {
		if w.check != nil {
			if err := w.check(); err != nil {
				return err
			}
		}
		if w.replace {
			return atomicfile.WriteFile(w.path, w.data, w.mode)
		}
		return createLocked(w.entry, w.data)
	})
}

// createLocked creates an entry's file, failing with ErrExists if it
// exists. The caller holds the lock.
func createLocked(e entry, data []byte) error {
	err := atomicfile.Create(e.path, data, e.mode)
	if errors.Is(err, atomicfile.ErrExist) {
		return fmt.Errorf("%w: %s %q", ErrExists, e.what, e.name)
	}
	return err
}

// errChanged is returned by replaceEntry when the entry no longer holds
// what the caller read.
var errChanged = errors.New("changed by another process meanwhile")

// replaceEntry atomically replaces an entry's file under the lock, but only
// if it still holds old: a read-modify-write (Rotate, RewrapKeys) must not
// undo what another process wrote, or removed, in between.
func (s *Store) replaceEntry(e entry, data, old []byte) error {
	return s.withLock(func() error { return replaceLocked(e, data, old) })
}

// replaceLocked is replaceEntry for a caller that holds the lock.
func replaceLocked(e entry, data, old []byte) error {
	cur, err := readEntry(e.path, e.what, e.name)
	switch {
	case errors.Is(err, ErrNotFound) || err == nil && !bytes.Equal(cur, old):
		return fmt.Errorf("%s %q was %w; nothing was written, try again", e.what, e.name, errChanged)
	case err != nil:
		return err // readEntry's errors name the store and the entry
	}
	return atomicfile.WriteFile(e.path, data, e.mode)
}

// withLock runs fn holding the store's exclusive lock. The lock is not
// reentrant: fn must not call withLock.
func (s *Store) withLock(fn func() error) error {
	f, err := os.OpenFile(filepath.Join(s.dir, lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := s.acquire(f); err != nil {
		return err
	}
	defer unlock(f)
	s.removeStaleTemps()
	return fn()
}

// removeStaleTemps removes temporary files left by writers that were
// killed. Every writer holds the lock for as long as its temporary file
// exists, so any found while holding the lock belongs to a dead process.
func (s *Store) removeStaleTemps() {
	for _, sub := range []string{identitiesDir, contactsDir, keysDir, authoritiesDir} {
		stale, _ := filepath.Glob(filepath.Join(s.dir, sub, ".*.tmp-*"))
		for _, path := range stale {
			os.Remove(path)
		}
	}
}

// acquire takes the lock, waiting up to the timeout.
func (s *Store) acquire(f *os.File) error {
	timeout := s.opts.LockTimeout
	if timeout == 0 {
		timeout = DefaultLockTimeout
	}
	deadline := time.Now().Add(timeout)
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		held, err := tryLock(f)
		switch {
		case err != nil:
			return fmt.Errorf("locking: %w", err)
		case held:
			return nil
		case time.Now().After(deadline):
			return fmt.Errorf("%w (waited %s for %s)", ErrLocked, timeout, f.Name())
		}
		time.Sleep(wait)
	}
}
