package atomicfile

import (
	"io"
	"os"
	"testing"
)

// TestSpool checks Spool's contract on each way it can make its file: the
// file is private, reads back what was written, and has no name in its
// directory, neither while it holds data nor after Close.
func TestSpool(t *testing.T) {
	tests := []struct {
		name  string
		spool func(dir string) (*os.File, error)
	}{
		{"Spool", Spool},
		{"named then unlinked", spoolNamed},
		{"default directory", func(dir string) (*os.File, error) {
			t.Setenv("TMPDIR", dir)
			return Spool("")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			f, err := tt.spool(dir)
			if err != nil {
				t.Fatal(err)
			}
			checkSpool(t, f, dir)
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			checkEmpty(t, dir)
		})
	}
}

// checkSpool writes to a spool file, checks that it has no name in dir and
// mode 0600, and reads the data back.
func checkSpool(t *testing.T, f *os.File, dir string) {
	t.Helper()
	want := "spooled plaintext"
	if _, err := f.WriteString(want); err != nil {
		t.Fatal(err)
	}
	checkEmpty(t, dir)
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != 0o600 {
		t.Errorf("mode %v, want 0600", got)
	}
	checkNoLinks(t, st)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	if err != nil || string(got) != want {
		t.Fatalf("read back %q, %v, want %q", got, err, want)
	}
}

func TestSpoolMissingDir(t *testing.T) {
	if f, err := Spool(t.TempDir() + "/no/such/dir"); err == nil {
		f.Close()
		t.Fatal("Spool made a file in a directory that does not exist")
	}
}

// checkEmpty fails unless dir has no entry at all, dot files included.
func checkEmpty(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("%s holds %s", dir, e.Name())
	}
}
