package atomicfile

import (
	"path/filepath"
	"testing"
)

// TestNewIsUnnamed checks that on Linux a File has no name at all while
// it is written, so that even SIGKILL leaves nothing: the directory is
// empty until Commit, the data is unlinked (link count zero), and the one
// name after Commit is the final one, for both ways of committing.
func TestNewIsUnnamed(t *testing.T) {
	for _, noClobber := range []bool{true, false} {
		dir := t.TempDir()
		path := filepath.Join(dir, "f")
		f, err := New(path, 0o600, noClobber)
		if err != nil {
			t.Fatal(err)
		}
		if f.temp != "" {
			t.Fatalf("New made a named temporary file %s on Linux", f.temp)
		}
		f.WriteString("unverified plaintext")
		checkNames(t, dir)
		st, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		checkNoLinks(t, st)
		if err := f.Commit(); err != nil {
			t.Fatal(err)
		}
		checkNames(t, dir, "f")
		checkFile(t, path, "unverified plaintext", 0o600)
	}
}
