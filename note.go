package keyblob

import (
	"errors"
	"unicode"
	"unicode/utf8"
)

// ErrNotNoteText is returned by SignNote for text that is not the text of
// a signed note.
var ErrNotNoteText = errors.New("not a signed note's text (UTF-8, ending in a newline, no control characters but newlines)")

// SignNote signs text as an Ed25519 signature of a C2SP signed note
// (c2sp.org/signed-note): a signature of text's bytes themselves, with no
// keyblob context, which standard tools (golang.org/x/mod/sumdb/note)
// verify. The backup authority signs its log checkpoints so.
//
// It refuses, with ErrNotNoteText, text that a signed note cannot carry:
// invalid UTF-8, a control character other than newline, no final
// newline. Every message Sign signs starts with "keyblob/v1 signature" and
// a NUL byte, which note text cannot contain, so neither kind of
// signature can stand for the other. It returns ErrCannotSign unless the
// identity's signature key is Ed25519, the only key signed notes name.
func (id *Identity) SignNote(text []byte) ([]byte, error) {
	if id.signing == nil || SignatureAlg(id.signing.Public().Suite().ID) != SignatureEd25519 {
		return nil, ErrCannotSign
	}
	if !isNoteText(text) {
		return nil, ErrNotNoteText
	}
	return id.signing.Sign(text)
}

// isNoteText reports whether text may be a signed note's text.
func isNoteText(text []byte) bool {
	if len(text) == 0 || text[len(text)-1] != '\n' || !utf8.Valid(text) {
		return false
	}
	for _, r := range string(text) {
		if r != '\n' && unicode.IsControl(r) {
			return false
		}
	}
	return true
}
