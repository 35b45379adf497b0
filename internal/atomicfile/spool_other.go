//go:build !windows

package atomicfile

import "os"

// spoolNamed creates a private file in dir and unlinks it at once, so
// that it has no name before it holds a byte. The lock of temporaries
// keeps RemoveTemporaries (and so the exit of a signal handler) from
// running between the two steps.
func spoolNamed(dir string) (*os.File, error) {
	temporaries.Lock()
	defer temporaries.Unlock()
	f, err := os.CreateTemp(dir, ".spool-*")
	if err != nil {
		return nil, err
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return f, nil
}
