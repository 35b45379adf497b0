package main

import (
	"bufio"
	"errors"
	"io"
	"strings"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/inspect"
)

// fileIs reports whether data is a file of the kind with PEM label label
// (a recipient line counts as a PUBLIC KEY), as inspect.Classify tells.
func fileIs(data []byte, label string) bool {
	return inspect.Classify(data).Is(label)
}

// peekBuffer is the buffer size of the readers that read what peekInput
// returns (format.Dearmor, seal.Open): 64 KiB.
const peekBuffer = 64 << 10

// peekInput returns in, readable from the start, and its first
// inspect.PeekSize bytes. A regular file is read at its offset; anything
// else through a buffer of peekBuffer bytes, the size the armor and seal
// readers buffer with, so that they use this buffer instead of copying
// through one more.
func peekInput(in io.Reader) (io.Reader, []byte) {
	if file, off, _, ok := regularInput(in); ok {
		head := make([]byte, inspect.PeekSize)
		n, _ := file.ReadAt(head, off)
		return in, head[:n]
	}
	br := bufio.NewReaderSize(in, peekBuffer)
	head, _ := br.Peek(inspect.PeekSize)
	return br, head
}

// wrongInput adds the hint for a malformed input that is another kind of
// keyblob file than the command wanted: what it is, and the command that
// reads it. Other errors are returned as they are.
func wrongInput(err error, head []byte, name, want string) error {
	if !isMalformed(err) {
		return err
	}
	k := inspect.Classify(head).Readable()
	if k == nil || k.Name == want || k.Use == "" {
		return err
	}
	use := strings.ReplaceAll(k.Use, "{file}", hintName(name))
	return withHint(err, "%s is %s, not %s: %s", shownName(name), withArticle(k.Name), withArticle(want), use)
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
