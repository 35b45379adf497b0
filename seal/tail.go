package seal

import "io"

// tailReader passes its source through but holds back the last n bytes,
// which a signed message's trailer occupies: the payload reader then sees
// the payload end where the trailer starts.
type tailReader struct {
	r     io.Reader
	n     int
	buf   []byte // buf[start:end] is read but not yet returned
	start int
	end   int
	eof   bool
	err   error
}

func newTailReader(r io.Reader, n int) *tailReader {
	return &tailReader{r: r, n: n, buf: make([]byte, n+64<<10)}
}

// Read returns source bytes that are certainly not among the last n.
func (t *tailReader) Read(p []byte) (int, error) {
	for t.end-t.start <= t.n {
		if t.eof {
			return 0, t.finalErr()
		}
		t.fill()
	}
	k := copy(p, t.buf[t.start:t.end-t.n])
	t.start += k
	return k, nil
}

// fill reads more from the source, compacting the buffer first.
func (t *tailReader) fill() {
	if t.start > 0 {
		t.end = copy(t.buf, t.buf[t.start:t.end])
		t.start = 0
	}
	n, err := t.r.Read(t.buf[t.end:])
	t.end += n
	if err != nil {
		t.eof = true
		if err != io.EOF {
			t.err = err
		}
	}
}

func (t *tailReader) finalErr() error {
	if t.err != nil {
		return t.err
	}
	return io.EOF
}

// held returns the held-back bytes: the trailer once the source is done.
// It is shorter than n if the source was. A nil tailReader holds nothing.
func (t *tailReader) held() []byte {
	if t == nil {
		return nil
	}
	return t.buf[t.start:t.end]
}
