package format

import (
	"bufio"
	"encoding/base64"
	"io"
)

// ArmorWriter writes one armored block, streaming and in constant memory:
// the begin line, the base64 of what is written in lines of 64 characters
// (the last 1 to 64), and, on Close, the end line, each line ended by one
// LF. It is the only armor encoder of the module. It is not safe for
// concurrent use.
type ArmorWriter struct {
	lw    *lineWriter
	enc   io.WriteCloser
	label string
}

// NewArmorWriter writes the begin line of a block of type label to dst
// and returns the writer of its content.
func NewArmorWriter(dst io.Writer, label string) (*ArmorWriter, error) {
	if _, err := io.WriteString(dst, beginLine(label)+"\n"); err != nil {
		return nil, err
	}
	lw := &lineWriter{w: bufio.NewWriterSize(dst, armorBuffer)}
	return &ArmorWriter{lw: lw, enc: base64.NewEncoder(base64.StdEncoding, lw), label: label}, nil
}

// Write encodes p. An error of the destination is returned by this Write
// or a later one, or by Close.
func (a *ArmorWriter) Write(p []byte) (int, error) { return a.enc.Write(p) }

// Close writes the last line and the end line and flushes. It does not
// close the destination.
func (a *ArmorWriter) Close() error {
	if err := a.enc.Close(); err != nil {
		return err
	}
	if a.lw.col > 0 {
		a.lw.w.WriteByte('\n')
	}
	a.lw.w.WriteString(endLine(a.label) + "\n")
	return a.lw.w.Flush()
}

// lineWriter breaks base64 text into lines of armorLine characters.
type lineWriter struct {
	w   *bufio.Writer
	col int
}

func (l *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(armorLine-l.col, len(p))
		l.w.Write(p[:k])
		p, l.col = p[k:], l.col+k
		if l.col == armorLine {
			l.w.WriteByte('\n')
			l.col = 0
		}
	}
	// bufio.Writer keeps its first error and returns it from every call
	// after: check it once here, so errors surface before Close.
	if _, err := l.w.Write(nil); err != nil {
		return 0, err
	}
	return n, nil
}
