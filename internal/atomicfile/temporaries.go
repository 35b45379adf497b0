package atomicfile

import (
	"io/fs"
	"os"
	"sync"
)

// temporaries is the process-wide set of named temporary files that hold
// data not yet committed, so that RemoveTemporaries can remove them when a
// signal stops the process. Its lock is also held while a name is being
// given to data (create, link, rename), so that RemoveTemporaries never
// runs between the moment a name appears and the moment it is recorded.
var temporaries = struct {
	sync.Mutex
	names map[string]struct{}
}{names: make(map[string]struct{})}

// RemoveTemporaries removes every named temporary file that a File of
// this process holds and has not committed or aborted. It is meant for a
// signal handler that then exits the process: it is safe to call from any
// goroutine, at any time, any number of times. A File whose temporary
// file was removed fails on Commit. Unnamed temporary files (O_TMPFILE on
// Linux, and Spool's files) need no removal: the kernel frees them when
// the process dies.
func RemoveTemporaries() {
	temporaries.Lock()
	defer temporaries.Unlock()
	for name := range temporaries.names {
		os.Remove(name)
		delete(temporaries.names, name)
	}
}

// createNamed creates a temporary file for base in dir, with mode perm,
// and records it in temporaries.
func createNamed(dir, base string, perm fs.FileMode) (*os.File, error) {
	temporaries.Lock()
	defer temporaries.Unlock()
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	temporaries.names[f.Name()] = struct{}{}
	return f, nil
}

// forgetNamed removes name from temporaries once it is no longer a
// temporary file (renamed into place, or removed).
func forgetNamed(name string) {
	temporaries.Lock()
	defer temporaries.Unlock()
	delete(temporaries.names, name)
}

// removeNamed removes the temporary file name and forgets it.
func removeNamed(name string) {
	os.Remove(name)
	forgetNamed(name)
}
