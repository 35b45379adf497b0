package seal

import (
	"errors"
	"fmt"
	"io"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/format"
)

// ErrArmor is wrapped by the error for armored input that is not exactly
// one "KEYBLOB SEALED MESSAGE" block as spec/sealed.md section 4 allows.
// It is keyblob.ErrArmor, the module's one armor sentinel, shared with the
// other armored objects.
var ErrArmor = keyblob.ErrArmor

// IsArmored reports whether msg, a whole message, is armored: whether it
// starts, after any SP, HT, CR and LF bytes, with "-----BEGIN ". Streams
// use Dearmor, which applies the same rule.
func IsArmored(msg []byte) bool { return format.IsArmored(msg) }

// ArmorWriter writes a message as armor, streaming: see NewArmorWriter.
// It is keyblob.ArmorWriter, the module's one armor encoder.
type ArmorWriter = keyblob.ArmorWriter

// NewArmorWriter writes the begin line of a "KEYBLOB SEALED MESSAGE" block
// to dst and returns the writer of the message. Its Close writes the end
// line; it does not close dst.
func NewArmorWriter(dst io.Writer) (*ArmorWriter, error) {
	return format.NewArmorWriter(dst, format.PEMSealed)
}

// ArmorReader decodes an armored message, streaming and in constant
// memory, exactly as spec/sealed.md section 4 specifies; every deviation
// is an error that wraps ErrArmor.
type ArmorReader struct{ r io.Reader }

// NewArmorReader returns a reader of the binary message armored in src.
func NewArmorReader(src io.Reader) *ArmorReader {
	return &ArmorReader{format.NewArmorReader(src, format.PEMSealed)}
}

// Read reads the decoded message.
func (a *ArmorReader) Read(p []byte) (int, error) {
	return a.r.Read(p)
}

// Dearmor returns a reader of the binary message in src: through an
// ArmorReader if src is armored (the rule of IsArmored), src's bytes
// unchanged otherwise. Input that starts with white space but is not
// armored is no message: the error wraps ErrMalformed. The caller must
// read only the returned reader from then on.
func Dearmor(src io.Reader) (io.Reader, error) {
	r, armored, err := format.Dearmor(src, format.PEMSealed)
	switch {
	case errors.Is(err, format.ErrSpaceNotArmor):
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	case err != nil:
		return nil, err
	case armored:
		return &ArmorReader{r}, nil
	}
	return r, nil
}
