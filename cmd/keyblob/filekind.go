package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/format"
)

// A fileKind is what a keyblob file is, as far as its first bytes tell,
// and the command that reads it: the hint for an input given to the wrong
// command ("decrypt" on a sealed message suggests open).
type fileKind struct {
	name  string // "sealed message"
	use   string // the command that reads it, {file} for the file
	label string // its PEM label, if it has one
	typ   byte   // its binary type byte, if it has one
}

// fileKinds are the kinds that a command can be given by mistake.
var fileKinds = []fileKind{
	{"sealed message", "'keyblob open -i IDENTITY {file}' opens it", format.PEMSealed, format.TypeSealed},
	{"encrypted file", "'keyblob decrypt -k SESSIONKEY {file}' decrypts it", format.PEMEncrypted, format.TypeEncrypted},
	{"key blob", "'keyblob import -i IDENTITY {file}' unwraps it", format.PEMBlob, format.TypeBlob},
	{"session key", "use it with -k {file} (encrypt, decrypt, export, open)", format.PEMSessionKey, format.TypeSessionKey},
	{"identity", "use it with -i {file} (import, open) or -s/--sign", format.PEMPrivateKey, 0},
	{"recipient (public key)", "use it with -r {file} (seal, export) or --verify/--from", format.PEMPublicKey, 0},
}

// peekBuffer is the buffer size of the readers that read what peekInput
// returns (format.Dearmor, seal.Open): 64 KiB.
const peekBuffer = 64 << 10

// kindHead is how many bytes kindOf looks at: enough for the comment
// lines that keyblob writes before an identity's PEM.
const kindHead = 512

// kindOf names what the first bytes of a file are, or nil if unknown.
// Comment lines ("# ...") before a PEM block or a line are skipped.
func kindOf(head []byte) *fileKind {
	head = bytes.TrimLeft(head, " \t\r\n")
	for bytes.HasPrefix(head, []byte("#")) {
		_, rest, ok := bytes.Cut(head, []byte("\n"))
		if !ok {
			return nil
		}
		head = bytes.TrimLeft(rest, " \t\r\n")
	}
	t, binary := format.Sniff(head)
	label, pemOK := pemBegin(head)
	if bytes.HasPrefix(head, []byte(keyblob.RecipientPrefix)) {
		return &fileKinds[len(fileKinds)-1]
	}
	for i, k := range fileKinds {
		if (binary && k.typ != 0 && k.typ == t) || (pemOK && label == k.label) {
			return &fileKinds[i]
		}
	}
	return nil
}

// fileIs reports whether data is a file of the kind with PEM label label
// (a recipient line counts as a PUBLIC KEY).
func fileIs(data []byte, label string) bool {
	k := kindOf(data)
	return k != nil && k.label == label
}

// pemBegin returns the label of a PEM block that head starts with.
func pemBegin(head []byte) (string, bool) {
	rest, ok := bytes.CutPrefix(head, []byte("-----BEGIN "))
	if !ok {
		return "", false
	}
	label, _, ok := bytes.Cut(rest, []byte("-----"))
	return string(label), ok
}

// peekInput returns in, readable from the start, and its first bytes. A
// regular file is read at its offset; anything else through a buffer of
// peekBuffer bytes, the size the armor and seal readers buffer with, so
// that they use this buffer instead of copying through one more.
func peekInput(in io.Reader) (io.Reader, []byte) {
	if file, off, _, ok := regularInput(in); ok {
		head := make([]byte, kindHead)
		n, _ := file.ReadAt(head, off)
		return in, head[:n]
	}
	br := bufio.NewReaderSize(in, peekBuffer)
	head, _ := br.Peek(kindHead)
	return br, head
}

// wrongInput adds the hint for a malformed input that is another kind of
// keyblob file than the command wanted: what it is, and the command that
// reads it. Other errors are returned as they are.
func wrongInput(err error, head []byte, name, want string) error {
	if !isMalformed(err) {
		return err
	}
	k := kindOf(head)
	if k == nil || k.name == want {
		return err
	}
	use := strings.ReplaceAll(k.use, "{file}", hintName(name))
	return withHint(err, "%s is %s, not %s: %s", shownName(name), withArticle(k.name), withArticle(want), use)
}

// withArticle puts "a" or "an" before a kind's name.
func withArticle(name string) string {
	if strings.ContainsRune("aeiou", rune(name[0])) {
		return "an " + name
	}
	return "a " + name
}

// isMalformed reports whether err says the input is not what was wanted.
func isMalformed(err error) bool {
	return errors.Is(err, keyblob.ErrMalformed)
}
