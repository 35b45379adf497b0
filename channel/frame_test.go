package channel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestFrameLengths checks the lengths of spec/channel.md section 1: 0,
// the bound, the bound + 1, 2^31 − 1 and 2^32 − 1. Refused lengths read
// nothing past the header and allocate nothing for the frame.
func TestFrameLengths(t *testing.T) {
	const max = 1000
	for _, tc := range []struct {
		n    uint32
		want error
	}{
		{0, errEmptyFrame},
		{1, nil},
		{max, nil},
		{max + 1, ErrTooLarge},
		{1<<31 - 1, ErrTooLarge},
		{1<<32 - 1, ErrTooLarge},
	} {
		body := make([]byte, min(tc.n, 2*max))
		src := &countingReader{r: bytes.NewReader(append(binary.BigEndian.AppendUint32(nil, tc.n), body...))}
		f := newFrameReader(src)
		frame, err := f.next(max)
		switch {
		case tc.want == nil && (err != nil || len(frame) != int(tc.n)):
			t.Errorf("length %d: %d bytes, %v", tc.n, len(frame), err)
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Errorf("length %d: %v, want %v", tc.n, err, tc.want)
		case tc.want != nil && (src.n != frameHeader || cap(f.buf) != 0):
			t.Errorf("length %d refused after reading %d bytes, with a %d-byte buffer", tc.n, src.n, cap(f.buf))
		}
	}
}

// TestFrameGrowsWithData checks that a frame that claims more than
// arrives costs memory for what arrived, not for what it claims.
func TestFrameGrowsWithData(t *testing.T) {
	claim := uint32(16 << 20)
	src := bytes.NewReader(append(binary.BigEndian.AppendUint32(nil, claim), make([]byte, 1000)...))
	f := newFrameReader(src)
	if _, err := f.next(int(claim)); err != io.ErrUnexpectedEOF {
		t.Fatalf("cut frame: %v, want io.ErrUnexpectedEOF", err)
	}
	if cap(f.buf) > frameGrowStep {
		t.Errorf("a frame claiming %d bytes of which 1000 came holds a %d-byte buffer", claim, cap(f.buf))
	}
}

// TestFrameResumes reads frames one byte at a time with errors in
// between (as timeouts would be): the frames come out whole.
func TestFrameResumes(t *testing.T) {
	var stream []byte
	var want [][]byte
	for i, n := range []int{1, 100, 70000, 3} {
		msg := bytes.Repeat([]byte{byte(i + 1)}, n)
		want = append(want, msg)
		frame, at := appendFrame(stream)
		stream = append(frame, msg...)
		finishFrame(stream, at)
	}
	f := newFrameReader(iotest.TimeoutReader(iotest.OneByteReader(bytes.NewReader(stream))))
	for i := 0; i < len(want); {
		frame, err := f.next(1 << 20)
		if err == iotest.ErrTimeout {
			continue
		}
		if err != nil || !bytes.Equal(frame, want[i]) {
			t.Fatalf("frame %d: %d bytes, %v", i, len(frame), err)
		}
		i++
	}
	if _, err := f.next(1 << 20); err != io.EOF {
		t.Errorf("after the last frame: %v, want io.EOF", err)
	}
}

// readCounter counts the Read calls made on it.
type readCounter struct {
	r     io.Reader
	calls int
}

func (c *readCounter) Read(p []byte) (int, error) {
	c.calls++
	return c.r.Read(p)
}

// TestFrameReadAhead checks that frames read back to back cost one read
// each once the buffer has grown (the next header comes with the body),
// and still come out whole.
func TestFrameReadAhead(t *testing.T) {
	const frames, size = 20, 70000
	var stream []byte
	for i := range frames {
		frame, at := appendFrame(stream)
		stream = append(frame, bytes.Repeat([]byte{byte(i)}, size)...)
		finishFrame(stream, at)
	}
	src := &readCounter{r: bytes.NewReader(stream)}
	f := newFrameReader(src)
	for i := range frames {
		frame, err := f.next(1 << 20)
		if err != nil || !bytes.Equal(frame, bytes.Repeat([]byte{byte(i)}, size)) {
			t.Fatalf("frame %d: %d bytes, %v", i, len(frame), err)
		}
	}
	if _, err := f.next(1 << 20); err != io.EOF {
		t.Errorf("after the last frame: %v, want io.EOF", err)
	}
	// The first frame takes a header read and two growing reads; each
	// later one reads its body once (its header was read ahead); then EOF.
	if max := 3 + (frames - 1) + 1; src.calls > max {
		t.Errorf("%d frames took %d reads, want at most %d", frames, src.calls, max)
	}
}
