package channel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Framing (spec/channel.md section 1): a u32 length, then the message.

const (
	frameHeader = 4
	// frameGrowStep is how far ahead of the bytes that arrived a frame's
	// buffer may grow, at least.
	frameGrowStep = 64 << 10
	// frameRetain is the largest buffer kept between frames, so that an
	// idle connection holds little memory.
	frameRetain = 128 << 10
)

// errEmptyFrame is the error of a frame of length 0.
var errEmptyFrame = errors.New("empty frame")

// A frameReader reads frames from a stream. It keeps a partly read frame
// across calls, so that a read that times out can be resumed.
//
// Reading a frame's body, it asks the stream for up to frameAhead bytes
// more, so that the next frame's header (and its start) usually comes in
// the same read: one read per frame instead of two. A header is read
// exactly when nothing is ahead, so a refused length reads nothing past
// it.
type frameReader struct {
	r    io.Reader
	hdr  [frameHeader]byte
	nhdr int
	size int // the length of the frame being read; -1 before its header
	buf  []byte
	// ahead[aheadOff:aheadEnd] was read past the last frame.
	ahead              [frameAhead]byte
	aheadOff, aheadEnd int
}

// frameAhead is how far past a frame the reader reads.
const frameAhead = 4096

func newFrameReader(r io.Reader) *frameReader { return &frameReader{r: r, size: -1} }

// next returns the next frame, which aliases the reader's buffer until
// the next call. The length is checked against max before anything of
// the frame is read or allocated; its buffer then grows with the bytes
// that arrive. A frame over max wraps ErrTooLarge, one of length 0 is
// errEmptyFrame, a stream that ends inside a frame io.ErrUnexpectedEOF
// and one that ends between frames io.EOF. Other errors of the stream are
// returned as they are (a timeout stays a net.Error), and a later call
// goes on where this one stopped.
func (f *frameReader) next(max int) ([]byte, error) {
	if f.size < 0 {
		if err := f.readHeader(max); err != nil {
			return nil, err
		}
	}
	for len(f.buf) < f.size {
		if len(f.buf) == cap(f.buf) {
			f.grow()
		}
		if f.aheadOff < f.aheadEnd {
			n := copy(f.buf[len(f.buf):min(cap(f.buf), f.size)], f.ahead[f.aheadOff:f.aheadEnd])
			f.buf, f.aheadOff = f.buf[:len(f.buf)+n], f.aheadOff+n
			continue
		}
		n, err := f.r.Read(f.buf[len(f.buf):min(cap(f.buf), f.size+frameAhead)])
		f.buf = f.buf[:len(f.buf)+n]
		if len(f.buf) > f.size {
			f.aheadOff, f.aheadEnd = 0, copy(f.ahead[:], f.buf[f.size:])
			f.buf = f.buf[:f.size]
		}
		if err != nil && len(f.buf) < f.size {
			return nil, eofInFrame(err)
		}
	}
	f.size, f.nhdr = -1, 0
	return f.buf, nil
}

// header reads the next frame's header, if it was not read yet, and
// returns the frame's length; its errors are those of next.
func (f *frameReader) header(max int) (int, error) {
	if f.size < 0 {
		if err := f.readHeader(max); err != nil {
			return 0, err
		}
	}
	return f.size, nil
}

func (f *frameReader) readHeader(max int) error {
	for f.nhdr < frameHeader {
		n, err := f.read(f.hdr[f.nhdr:])
		f.nhdr += n
		switch {
		case f.nhdr == frameHeader:
		case err == io.EOF && f.nhdr == 0:
			return io.EOF
		case err != nil:
			return eofInFrame(err)
		}
	}
	size := binary.BigEndian.Uint32(f.hdr[:])
	switch {
	case size == 0:
		return errEmptyFrame
	case uint64(size) > uint64(max):
		return fmt.Errorf("%w: a frame of %d bytes, over the limit of %d", ErrTooLarge, size, max)
	}
	f.size = int(size)
	if cap(f.buf) > frameRetain {
		f.buf = nil
	}
	f.buf = f.buf[:0]
	return nil
}

// grow extends the buffer by what it holds, at least frameGrowStep, at
// most to the frame's size.
// The read-ahead adds room for frameAhead bytes once the frame fits.
func (f *frameReader) grow() {
	n := min(f.size+frameAhead, len(f.buf)+max(len(f.buf), frameGrowStep))
	buf := make([]byte, len(f.buf), n)
	copy(buf, f.buf)
	f.buf = buf
}

// read reads what was read ahead, or else from the stream.
func (f *frameReader) read(p []byte) (int, error) {
	if f.aheadOff < f.aheadEnd {
		n := copy(p, f.ahead[f.aheadOff:f.aheadEnd])
		f.aheadOff += n
		return n, nil
	}
	return f.r.Read(p)
}

func eofInFrame(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// appendFrame appends a frame header to dst and returns dst and the
// offset of the header; finishFrame fills it once the message follows.
func appendFrame(dst []byte) ([]byte, int) {
	return append(dst, 0, 0, 0, 0), len(dst)
}

func finishFrame(dst []byte, at int) {
	binary.BigEndian.PutUint32(dst[at:], uint32(len(dst)-at-frameHeader))
}
