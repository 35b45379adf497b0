package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// mechanisms are the two ways a File is made: New picks the unnamed one
// where it works (Linux), and the named one is the fallback elsewhere.
var mechanisms = []struct {
	name string
	new  func(path string, perm fs.FileMode, noClobber bool) (*File, error)
}{
	{"New", New},
	{"named", newNamed},
}

// TestMechanisms runs the File contract on each mechanism: replace, no
// clobber, abort, and the directory holding only the final names.
func TestMechanisms(t *testing.T) {
	for _, m := range mechanisms {
		t.Run(m.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "f")
			commit(t, m.new, path, "first", 0o644, true)
			commit(t, m.new, path, "second", 0o600, false)
			checkFile(t, path, "second", 0o600)
			f, err := m.new(path, 0o600, true)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString("third")
			if err := f.Commit(); !errors.Is(err, ErrExist) {
				t.Fatalf("no-clobber Commit over a file: %v, want ErrExist", err)
			}
			checkFile(t, path, "second", 0o600)
			aborted(t, m.new, filepath.Join(dir, "g"))
			checkNames(t, dir, "f")
		})
	}
}

// commit writes data to a new File at path and commits it.
func commit(t *testing.T, newFile func(string, fs.FileMode, bool) (*File, error), path, data string, perm fs.FileMode, noClobber bool) {
	t.Helper()
	f, err := newFile(path, perm, noClobber)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
}

// aborted writes to a new File at path and aborts it.
func aborted(t *testing.T, newFile func(string, fs.FileMode, bool) (*File, error), path string) {
	t.Helper()
	f, err := newFile(path, 0o600, false)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("never committed")
	f.Abort()
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("an aborted file is at its name: %v", err)
	}
}

// TestRemoveTemporaries removes named temporary files as a signal handler
// would: nothing is left, Commit then fails, and calling it again (or
// Abort) is harmless.
func TestRemoveTemporaries(t *testing.T) {
	dir := t.TempDir()
	var files []*File
	for _, name := range []string{"a", "b"} {
		f, err := newNamed(filepath.Join(dir, name), 0o600, false)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString("unverified plaintext")
		files = append(files, f)
	}
	RemoveTemporaries()
	RemoveTemporaries()
	checkNames(t, dir)
	if err := files[0].Commit(); err == nil {
		t.Error("Commit succeeded after its temporary file was removed")
	}
	files[1].Abort()
	checkNames(t, dir)
}

// checkFile fails unless path holds data with mode perm.
func checkFile(t *testing.T, path, data string, perm fs.FileMode) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil || string(got) != data {
		t.Fatalf("%s holds %q, %v, want %q", path, got, err, data)
	}
	checkMode(t, path, perm)
}

// checkNames fails unless dir holds exactly the entries names, dot files
// included.
func checkNames(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, names) {
		t.Errorf("%s holds %q, want %q", dir, got, names)
	}
}
