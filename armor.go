package keyblob

import (
	"errors"
	"fmt"
	"io"

	"github.com/keyblob/keyblob/internal/format"
)

// ErrArmor is wrapped by the error for armored input that is not exactly
// one PEM block of the expected type as spec/blob.md section 4 allows. It
// is the module's one armor sentinel (seal.ErrArmor is the same value),
// and it wraps ErrMalformed.
var ErrArmor = format.ErrArmor

// ArmorWriter writes an object as armor, streaming, in constant memory:
// 64 base64 characters a line between the begin and end lines of its
// type. Its Close writes the end line; it does not close the underlying
// writer. An ArmorWriter is not safe for concurrent use.
type ArmorWriter = format.ArmorWriter

// NewEncryptedArmorWriter writes the begin line of a "KEYBLOB ENCRYPTED
// FILE" block to dst and returns the writer of the encrypted file's
// binary form: give it to Encrypt, or as the W of EncryptFile's Sink, then
// Close it.
func NewEncryptedArmorWriter(dst io.Writer) (*ArmorWriter, error) {
	return format.NewArmorWriter(dst, format.PEMEncrypted)
}

// DearmorEncrypted returns a reader of the binary encrypted file in src:
// decoded, streaming, if src is armored (if it starts, after any SP, HT, CR
// and LF bytes, with "-----BEGIN "), src's bytes unchanged otherwise.
// Armor that is not exactly one "KEYBLOB ENCRYPTED FILE" block is an error
// wrapping ErrArmor when it is read; input that starts with white space but
// is not armored is no encrypted file (ErrMalformedEncryptedFile). The
// caller must read only the returned reader from then on; give it to
// Decrypt.
func DearmorEncrypted(src io.Reader) (io.Reader, error) {
	r, _, err := format.Dearmor(src, format.PEMEncrypted)
	if errors.Is(err, format.ErrSpaceNotArmor) {
		return nil, fmt.Errorf("%w: %w", ErrMalformedEncryptedFile, err)
	}
	return r, err
}
