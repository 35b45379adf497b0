package stream

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestMappedReleased checks that a file job gives back the pages of a
// mapped source as it goes, so resident memory does not grow with the
// file: at the end, all but the last window's pages have been released.
func TestMappedReleased(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in")
	const chunks = 300
	if err := os.WriteFile(path, make([]byte, chunks*ChunkSize+5), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := NewCipher(make([]byte, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	for _, dstAt := range []bool{false, true} {
		m, err := MapFile(f, 0, chunks*ChunkSize+5)
		if err != nil {
			t.Fatal(err)
		}
		opts := &FileOptions{Workers: 2}
		if dstAt {
			out, err := os.Create(filepath.Join(t.TempDir(), "out"))
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			opts.DstAt = out
		}
		if err := SealAt(c, m, 0, chunks*ChunkSize+5, io.Discard, opts); err != nil {
			t.Fatal(err)
		}
		if unreleased := len(m.mapping) - m.released; unreleased > 2*128*ChunkSize {
			t.Errorf("dstAt=%v: %d of %d mapped bytes still resident after the job", dstAt, unreleased, len(m.mapping))
		}
		m.Close()
	}
}
