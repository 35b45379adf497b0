//go:build unix

package atomicfile

import (
	"io/fs"
	"syscall"
	"testing"
)

// checkNoLinks fails unless the file behind st has no name anywhere: a
// link count of zero, as for an O_TMPFILE or unlinked file.
func checkNoLinks(t *testing.T, st fs.FileInfo) {
	t.Helper()
	if n := st.Sys().(*syscall.Stat_t).Nlink; n != 0 {
		t.Errorf("the file has %d name(s), want none", n)
	}
}
