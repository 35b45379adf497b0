package keyblob_test

// Spec tests for recipients files (spec/blob.md section 6.2): what white
// space around a line is, which lines are comments, and when a file is a
// public key file instead.

import (
	"strings"
	"testing"
	"unicode"

	"github.com/keyblob/keyblob"
)

// whiteSpace is every code point of Unicode's White_Space property.
var whiteSpace = []string{
	"\t", "\n", "\v", "\f", "\r", " ", "\u0085", "\u00a0", "\u1680",
	"\u2000", "\u2001", "\u2002", "\u2003", "\u2004", "\u2005", "\u2006",
	"\u2007", "\u2008", "\u2009", "\u200a", "\u2028", "\u2029", "\u202f",
	"\u205f", "\u3000",
}

// notWhiteSpace are characters that look blank but are not White_Space,
// and bytes that are not UTF-8.
var notWhiteSpace = []string{"\ufeff", "\u200b", "\u180e", "\u2060", "\x00", "\x1c", "\xa0", "\xff"}

func TestSpecRecipientsFileWhiteSpace(t *testing.T) {
	id, err := keyblob.GenerateIdentity(keyblob.KindX25519)
	if err != nil {
		t.Fatal(err)
	}
	line := id.Recipient().String()
	for _, ws := range whiteSpace {
		if !unicode.IsSpace([]rune(ws)[0]) {
			t.Fatalf("%q: not unicode.IsSpace", ws)
		}
		for _, file := range []string{
			ws + line + ws + "\n",
			ws + ws + line + "\r\n" + ws + "# comment\n" + ws + "\n",
		} {
			rs, err := keyblob.ParseRecipients([]byte(file))
			if err != nil || len(rs) != 1 || !rs[0].Equal(id.Recipient()) {
				t.Errorf("%q around the line: %d recipients, %v", ws, len(rs), err)
			}
		}
	}
	for _, c := range notWhiteSpace {
		for _, file := range []string{c + line + "\n", line + c + "\n", c + "# comment\n" + line + "\n"} {
			if _, err := keyblob.ParseRecipients([]byte(file)); err == nil {
				t.Errorf("%q: %q was taken for white space", file[:8], c)
			}
		}
	}
}

// TestSpecRecipientsFileBOM: a byte order mark is not removed, so a file
// that starts with one fails on its first line, comment or not.
func TestSpecRecipientsFileBOM(t *testing.T) {
	id, err := keyblob.GenerateIdentity(keyblob.KindX25519)
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{
		"\ufeff" + id.Recipient().String() + "\n",
		"\ufeff# my recipients\n" + id.Recipient().String() + "\n",
	} {
		_, err := keyblob.ParseRecipients([]byte(file))
		if err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("a BOM: %v, want an error on line 1", err)
		}
	}
}

// TestSpecRecipientsFilePEM: a file that holds "-----BEGIN " anywhere is
// read as a public key file, even when the text is in a comment line.
func TestSpecRecipientsFilePEM(t *testing.T) {
	id, err := keyblob.GenerateIdentity(keyblob.KindX25519)
	if err != nil {
		t.Fatal(err)
	}
	pemFile, err := id.Recipient().MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	if rs, err := keyblob.ParseRecipients(pemFile); err != nil || len(rs) != 1 || !rs[0].Equal(id.Recipient()) {
		t.Fatalf("public key file: %d recipients, %v", len(rs), err)
	}
	lines := "# paste no -----BEGIN blocks here\n" + id.Recipient().String() + "\n"
	if _, err := keyblob.ParseRecipients([]byte(lines)); err == nil {
		t.Error("a comment with -----BEGIN  was read as a line file")
	}
}
