package format

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
)

// ArmorReader decodes one armored block, streaming, in constant memory
// whatever the size of the block or of the white space around it. It is
// the only armor decoder of the module and accepts exactly what spec/blob.md
// section 4 allows: any SP, HT, CR and LF bytes, then the begin line; lines
// ended by LF or CR LF (mixed freely); base64 lines of exactly 64
// characters but the last, of 4 to 64; the end line; then only SP, HT, CR
// and LF to the end of the input, with no line end required after the end
// line. Every other input is an error that wraps ErrArmor; errors of the
// source are returned as they are. Content is returned line by line,
// before the rest of the block is checked: like any streamed input it is
// not trusted until Read has returned io.EOF, and every keyblob object
// read through it authenticates its own bytes. It is not safe for
// concurrent use.
type ArmorReader struct {
	br         *bufio.Reader
	label      string
	begin, end string
	pending    []byte
	buf        [armorLine / 4 * 3]byte
	started    bool
	short      bool // a line shorter than armorLine was seen: it must be the last
	lines      int
	err        error
}

// NewArmorReader returns a reader of the content of the block of type
// label armored in src.
func NewArmorReader(src io.Reader, label string) *ArmorReader {
	return &ArmorReader{br: bufio.NewReaderSize(src, armorBuffer), label: label, begin: beginLine(label), end: endLine(label)}
}

// Read reads decoded content; it returns io.EOF after the end line and
// the white space after it.
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

// next decodes the next line into pending, or returns io.EOF after the
// end line, or an error.
func (a *ArmorReader) next() error {
	if !a.started {
		return a.readBegin()
	}
	line, err := a.br.ReadSlice('\n')
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return err
	}
	if rest, ok := bytes.CutPrefix(line, []byte(a.end)); ok {
		return a.finish(rest)
	}
	line, err = lineContent(line, err)
	if err != nil {
		return err
	}
	return a.decodeLine(line)
}

// readBegin skips the white space before the begin line and reads it.
func (a *ArmorReader) readBegin() error {
	if _, err := skipSpace(a.br); err != nil {
		return err
	}
	line, err := a.br.ReadSlice('\n')
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return err
	}
	if line, err = lineContent(line, err); err != nil {
		return fmt.Errorf("%w: no %q line", ErrArmor, a.begin)
	}
	if string(line) != a.begin {
		return beginError(line, a.label)
	}
	a.started = true
	return nil
}

// beginError explains a begin line that is not that of label.
func beginError(line []byte, label string) error {
	got, begins := bytes.CutPrefix(line, []byte(beginPrefix))
	if got, ends := bytes.CutSuffix(got, []byte("-----")); begins && ends {
		return fmt.Errorf("%w: PEM block is %q, want %q", ErrArmor, got, label)
	}
	return fmt.Errorf("%w: no %q line", ErrArmor, beginLine(label))
}

// lineContent returns a line read by ReadSlice without its LF and one CR
// before it. A line longer than an armor line, or one that the end of the
// input cuts, is an error.
func lineContent(line []byte, err error) ([]byte, error) {
	switch {
	case errors.Is(err, bufio.ErrBufferFull) || len(line) > armorLine+2:
		return nil, fmt.Errorf("%w: not in canonical form (a line over 64 characters)", ErrArmor)
	case err != nil:
		return nil, fmt.Errorf("%w: truncated (no end line)", ErrArmor)
	}
	return bytes.TrimSuffix(line[:len(line)-1], []byte("\r")), nil
}

// decodeLine decodes one base64 line. The length check after decoding
// also refuses a CR inside the line, which the base64 decoder would skip.
func (a *ArmorReader) decodeLine(line []byte) error {
	switch {
	case a.lines == 0 && bytes.IndexByte(line, ':') >= 0:
		return fmt.Errorf("%w: PEM block has headers", ErrArmor)
	case a.short || len(line) == 0 || len(line) > armorLine || len(line)%4 != 0:
		return fmt.Errorf("%w: not in canonical form (line lengths)", ErrArmor)
	}
	a.short = len(line) < armorLine || line[len(line)-1] == '='
	n, err := base64.StdEncoding.Strict().Decode(a.buf[:], line)
	if err != nil || base64.StdEncoding.EncodedLen(n) != len(line) {
		return fmt.Errorf("%w: not in canonical form (base64)", ErrArmor)
	}
	a.lines++
	a.pending = a.buf[:n]
	return nil
}

// finish checks that only white space follows the end line, rest being
// the part of its line already read, up to the end of the input. It
// reads in pieces, so memory stays bounded.
func (a *ArmorReader) finish(rest []byte) error {
	if a.lines == 0 {
		return fmt.Errorf("%w: empty", ErrArmor)
	}
	var buf [4096]byte
	for {
		if !allSpace(rest) {
			return fmt.Errorf("%w: trailing data after the end line", ErrArmor)
		}
		n, err := a.br.Read(buf[:])
		switch {
		case n > 0:
			rest = buf[:n]
		case errors.Is(err, io.EOF):
			return io.EOF
		case err != nil:
			return err
		}
	}
}

// allSpace reports whether b holds only SP, HT, CR and LF.
func allSpace(b []byte) bool {
	return len(bytes.TrimLeft(b, " \t\r\n")) == 0
}
