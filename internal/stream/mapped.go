package stream

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"

	"golang.org/x/sys/unix"
)

// Mapped is a read-only memory mapping of part of a file. SealAt and OpenAt
// read chunks straight from it instead of copying them with ReadAt.
//
// A mapping is only as stable as the file: if the file is truncated while
// it is read, touching the missing pages raises SIGBUS. The workers that
// read a Mapped turn such a fault into an error (debug.SetPanicOnFault), so
// a file changed under keyblob fails cleanly instead of crashing it.
type Mapped struct {
	mapping  []byte // the whole mapping, page aligned
	data     []byte // the part asked for
	released int    // mapping[:released] was given back (see release)
}

// errFault is the error for a fault while reading a mapping.
var errFault = errors.New("stream: the input file changed while it was read")

// MapFile maps size bytes of f from offset off. It fails for empty ranges
// and where mapping is not possible; callers then use ReadAt.
func MapFile(f *os.File, off, size int64) (*Mapped, error) {
	if size <= 0 || off < 0 {
		return nil, errors.New("stream: nothing to map")
	}
	page := int64(os.Getpagesize())
	start := off &^ (page - 1)
	m, err := unix.Mmap(int(f.Fd()), start, int(off-start+size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("stream: %w", err)
	}
	unix.Madvise(m, unix.MADV_SEQUENTIAL)
	return &Mapped{mapping: m, data: m[off-start:]}, nil
}

// Close unmaps the file. The Mapped must not be used afterwards.
func (m *Mapped) Close() error {
	m.data = nil
	return unix.Munmap(m.mapping)
}

// ReadAt copies from the mapping, for callers that need an io.ReaderAt.
func (m *Mapped) ReadAt(p []byte, off int64) (n int, err error) {
	defer guardFaults()()
	defer catchFault(&err)
	if off < 0 || off > int64(len(m.data)) {
		return 0, errors.New("stream: read outside the mapping")
	}
	n = copy(p, m.data[off:])
	if n < len(p) {
		return n, errFault
	}
	return n, nil
}

// release gives back the pages of data before off, which will not be read
// again: they leave the process's resident memory (they stay in the page
// cache), so memory does not grow with the size of the file.
func (m *Mapped) release(off int64) {
	head := len(m.mapping) - len(m.data)
	end := (head + int(off)) &^ (os.Getpagesize() - 1)
	if end <= m.released || end > len(m.mapping) {
		return
	}
	unix.Madvise(m.mapping[m.released:end], unix.MADV_DONTNEED)
	m.released = end
}

// slice returns n bytes at off without copying.
func (m *Mapped) slice(off int64, n int) ([]byte, bool) {
	if off < 0 || off+int64(n) > int64(len(m.data)) {
		return nil, false
	}
	return m.data[off : off+int64(n)], true
}

// guardFaults makes memory faults in the calling goroutine panics that
// catchFault can recover; the returned function restores the old setting.
func guardFaults() func() {
	old := debug.SetPanicOnFault(true)
	return func() { debug.SetPanicOnFault(old) }
}

// catchFault, deferred, turns a recovered memory fault into errFault and
// lets any other panic continue: only faults are expected.
func catchFault(err *error) {
	r := recover()
	if r == nil {
		return
	}
	if _, ok := r.(interface{ Addr() uintptr }); ok {
		*err = errFault
		return
	}
	panic(r)
}
