package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFileReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	for _, data := range []string{"first", "second, longer"} {
		if err := WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != data {
			t.Fatalf("got %q, %v, want %q", got, err, data)
		}
	}
	checkMode(t, path, 0o600)
	checkNoTemps(t, filepath.Dir(path))
}

func TestCreateNeverReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := Create(path, []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Create(path, []byte("two"), 0o600)
	if !errors.Is(err, ErrExist) {
		t.Fatalf("second Create: %v, want ErrExist", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "one" {
		t.Fatalf("the existing file was changed to %q", got)
	}
	checkMode(t, path, 0o644)
	checkNoTemps(t, filepath.Dir(path))
}

func TestWriteFileMissingDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no", "f")
	if err := WriteFile(path, []byte("x"), 0o600); err == nil {
		t.Fatal("wrote into a directory that does not exist")
	}
}

func TestRemove(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("still there: %v", err)
	}
	if err := Remove(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("removing twice: %v", err)
	}
}

func checkMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != want {
		t.Errorf("mode %v, want %v", got, want)
	}
}

func checkNoTemps(t *testing.T, dir string) {
	t.Helper()
	if temps, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*")); len(temps) > 0 {
		t.Errorf("temporary files left: %v", temps)
	}
}

func TestFileStreamAndAbort(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	f, err := New(path, 0o600, false)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("partial"))
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("visible before Commit: %v", err)
	}
	f.Abort()
	f.Abort() // a second Abort does nothing
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("visible after Abort: %v", err)
	}
	checkNoTemps(t, dir)
}

func TestFileWriteAtAndNoClobber(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	f, err := New(path, 0o640, true)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("world"), 6)
	f.WriteAt([]byte("hello "), 0)
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	f.Abort() // after Commit, Abort leaves the file alone
	if got, _ := os.ReadFile(path); string(got) != "hello world" {
		t.Fatalf("got %q", got)
	}
	checkMode(t, path, 0o640)
	g, err := New(path, 0o600, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Commit(); !errors.Is(err, ErrExist) {
		t.Fatalf("no-clobber Commit over a file: %v, want ErrExist", err)
	}
	checkNoTemps(t, dir)
}
