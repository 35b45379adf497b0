package seal

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"github.com/keyblob/keyblob/internal/format"
)

// ErrArmor is returned for armored input that is not exactly one canonical
// "KEYBLOB SEALED MESSAGE" PEM block (spec/sealed.md, 4).
var ErrArmor = errors.New("seal: malformed armor")

const (
	armorLine  = 64 // base64 characters per line
	armorBegin = "-----BEGIN " + format.PEMSealed + "-----"
	armorEnd   = "-----END " + format.PEMSealed + "-----"
)

// IsArmored reports whether the start of a message is armored.
func IsArmored(start []byte) bool {
	return bytes.HasPrefix(start, []byte("-----BEGIN "))
}

// ArmorWriter writes a message as PEM, streaming. Close writes the end
// line; it does not close the underlying writer.
type ArmorWriter struct {
	lw  *lineWriter
	enc io.WriteCloser
}

// NewArmorWriter writes the begin line to dst and returns the writer.
func NewArmorWriter(dst io.Writer) (*ArmorWriter, error) {
	if _, err := io.WriteString(dst, armorBegin+"\n"); err != nil {
		return nil, err
	}
	lw := &lineWriter{w: bufio.NewWriterSize(dst, 64<<10)}
	return &ArmorWriter{lw: lw, enc: base64.NewEncoder(base64.StdEncoding, lw)}, nil
}

func (a *ArmorWriter) Write(p []byte) (int, error) { return a.enc.Write(p) }

// Close flushes the last line and writes the end line.
func (a *ArmorWriter) Close() error {
	if err := a.enc.Close(); err != nil {
		return err
	}
	if a.lw.col > 0 {
		a.lw.w.WriteByte('\n')
	}
	a.lw.w.WriteString(armorEnd + "\n")
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

// ArmorReader decodes an armored message, streaming and strictly: every
// deviation from the canonical form is ErrArmor.
type ArmorReader struct {
	br      *bufio.Reader
	pending []byte
	buf     [armorLine / 4 * 3]byte
	started bool
	short   bool // a line shorter than armorLine was seen: it must be the last
	lines   int
	err     error
}

// NewArmorReader returns a reader of the binary message armored in src.
func NewArmorReader(src io.Reader) *ArmorReader {
	return &ArmorReader{br: bufio.NewReaderSize(src, 64<<10)}
}

func (a *ArmorReader) Read(p []byte) (int, error) {
	for len(a.pending) == 0 {
		if a.err != nil {
			return 0, a.err
		}
		a.err = a.next()
	}
	n := copy(p, a.pending)
	a.pending = a.pending[n:]
	return n, nil
}

// next decodes the next line into pending, or returns io.EOF at the end
// line, or ErrArmor.
func (a *ArmorReader) next() error {
	line, err := a.readLine()
	if err != nil {
		return err
	}
	if !a.started {
		if string(line) != armorBegin {
			return fmt.Errorf("%w: no %q line", ErrArmor, armorBegin)
		}
		a.started = true
		return nil
	}
	if string(line) == armorEnd {
		return a.end()
	}
	return a.decodeLine(line)
}

func (a *ArmorReader) decodeLine(line []byte) error {
	if a.short || len(line) == 0 || len(line) > armorLine || len(line)%4 != 0 {
		return fmt.Errorf("%w: bad line length", ErrArmor)
	}
	a.short = len(line) < armorLine || line[len(line)-1] == '='
	n, err := base64.StdEncoding.Strict().Decode(a.buf[:], line)
	if err != nil || base64.StdEncoding.EncodedLen(n) != len(line) {
		return fmt.Errorf("%w: bad base64", ErrArmor)
	}
	a.lines++
	a.pending = a.buf[:n]
	return nil
}

// end checks that only white space follows the end line, up to the end
// of the input: however much white space comes first, nothing else may
// follow it. It reads in pieces, so memory stays bounded.
func (a *ArmorReader) end() error {
	if a.lines == 0 {
		return fmt.Errorf("%w: empty", ErrArmor)
	}
	var buf [4096]byte
	for {
		n, err := a.br.Read(buf[:])
		for _, c := range buf[:n] {
			if !isSpace(c) {
				return fmt.Errorf("%w: data after the end line", ErrArmor)
			}
		}
		switch {
		case errors.Is(err, io.EOF):
			return io.EOF
		case err != nil:
			return err
		}
	}
}

// isSpace reports whether c is ASCII white space.
func isSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\v', '\f', '\r':
		return true
	}
	return false
}

// readLine returns the next line without its LF (and one CR before it).
// Lines longer than an armor line are errors, so memory stays bounded.
func (a *ArmorReader) readLine() ([]byte, error) {
	line, err := a.br.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull) || len(line) > armorLine+2:
		return nil, fmt.Errorf("%w: line too long", ErrArmor)
	case errors.Is(err, io.EOF):
		return nil, fmt.Errorf("%w: truncated (no end line)", ErrArmor)
	case err != nil:
		return nil, err
	}
	line = bytes.TrimSuffix(line[:len(line)-1], []byte("\r"))
	return line, nil
}
