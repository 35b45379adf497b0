package seal

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/format"
)

// armorTestMessage returns a message whose binary form is 1 mod 3 bytes
// long, so its base64 ends with "==" and has padding bits, and its
// plaintext.
func armorTestMessage(t *testing.T, bob *keyblob.Identity) (bin, plain []byte) {
	for n := 3000; ; n++ {
		plain = testPlaintext(n, 9)
		if bin = sealMsg(t, plain, &Options{Recipients: recipientsOf(bob)}); len(bin)%3 == 1 {
			return bin, plain
		}
	}
}

// TestArmor opens armored messages through Dearmor, the rule every
// decoder of the module uses: what is not armored is read as binary, and
// armored input must be exactly what spec/sealed.md section 4 allows.
func TestArmor(t *testing.T) {
	bob := testIdentity(t, "bob-x25519")
	bin, plain := armorTestMessage(t, bob)
	text := string(armor(t, bin))
	if text != string(format.Armor(format.PEMSealed, bin)) {
		t.Fatal("ArmorWriter does not write the canonical PEM of the message")
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	body := lines[1 : len(lines)-1]
	b64 := strings.Join(body, "")
	rewrap := func(first int) string {
		out := []string{lines[0], b64[:first]}
		for rest := b64[first:]; len(rest) > 0; {
			n := min(64, len(rest))
			out, rest = append(out, rest[:n]), rest[n:]
		}
		return strings.Join(append(out, lines[len(lines)-1]), "\n") + "\n"
	}
	last := body[len(body)-1]
	if !strings.HasSuffix(last, "==") {
		t.Fatalf("the last line %q has no padding", last)
	}
	// The last character before "==" carries 4 padding bits; setting one
	// keeps the same bytes under a lenient decoder.
	idx := strings.IndexByte(base64Alphabet, last[len(last)-3])
	loose := last[:len(last)-3] + string(base64Alphabet[idx^1]) + "=="
	if dec, err := base64.StdEncoding.DecodeString(b64[:len(b64)-len(last)] + loose); err != nil || !bytes.Equal(dec, bin) {
		t.Fatalf("the loose padding does not decode leniently to the message: %v", err)
	}
	withLast := func(l string) string {
		return strings.Join(append(append([]string{lines[0]}, body[:len(body)-1]...), l, lines[len(lines)-1]), "\n") + "\n"
	}

	tests := []struct {
		name string
		text string
		want string
	}{
		{"canonical", text, classSuccess},
		{"CRLF", strings.ReplaceAll(text, "\n", "\r\n"), classSuccess},
		{"LF and CRLF mixed", strings.Replace(text, "\n", "\r\n", 3), classSuccess},
		{"white space after the end line", text + " \t\n\n", classSuccess},
		{"much white space after the end line", text + strings.Repeat(" \n", 50000), classSuccess},
		{"end line without LF", strings.TrimSuffix(text, "\n"), classSuccess},
		{"white space before begin", "\n \t\r\n" + text, classSuccess},
		{"much white space before begin", strings.Repeat("\n", 100<<10) + text, classSuccess},
		{"data after much white space", text + strings.Repeat(" ", 5000) + "x\n", classArmor},
		{"data after the end line", text + "hello\n", classArmor},
		{"U+00A0 after the end line", text + "\u00a0", classArmor},
		{"VT after the end line", text + "\v", classArmor},
		{"a second block", text + text, classArmor},
		{"wrong label", strings.ReplaceAll(text, "SEALED MESSAGE", "KEY BLOB"), classArmor},
		{"wrong label on the end line", strings.Replace(text, "END KEYBLOB SEALED MESSAGE", "END KEYBLOB KEY BLOB", 1), classArmor},
		{"line of 63 in the middle", rewrap(63), classArmor},
		{"line of 65 first", rewrap(65), classArmor},
		{"line of 60 first", rewrap(60), classArmor},
		{"non-canonical padding bits", withLast(loose), classArmor},
		{"padding removed", withLast(strings.TrimRight(last, "=")), classArmor},
		{"last line split in two", withLast(last[:4] + "\n" + last[4:]), classArmor},
		{"missing end line", strings.Join(lines[:len(lines)-1], "\n") + "\n", classArmor},
		{"PEM header line", strings.Replace(text, "-----\n", "-----\nComment: hi\n\n", 1), classArmor},
		{"blank line after begin", strings.Replace(text, "-----\n", "-----\n\n", 1), classArmor},
		{"space at a line end", strings.Replace(text, "\n", " \n", 2), classArmor},
		{"bad character", strings.Replace(text, body[1][:4], "ab*d", 1), classArmor},
		{"empty", lines[0] + "\n" + lines[len(lines)-1] + "\n", classArmor},
		{"lowercase label", strings.ReplaceAll(text, "KEYBLOB SEALED MESSAGE", "keyblob sealed message"), classArmor},
		{"CR alone", strings.ReplaceAll(text, "\n", "\r"), classArmor},
		// Not armored: read as binary, these fail on the magic.
		{"text before begin", "Here it is:\n" + text, classHeader},
		{"missing begin line", strings.Join(lines[1:], "\n") + "\n", classHeader},
		{"U+00A0 before begin", "\u00a0" + text, classHeader},
		{"U+2028 before begin", "\u2028" + text, classHeader},
		{"VT before begin", "\v" + text, classHeader},
		{"nothing", "", classHeader},
		{"white space only", " \r\n\t", classHeader},
		{"white space before a binary message", "\n" + string(bin), classHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := Dearmor(strings.NewReader(tt.text))
			var o *Opener
			if err == nil {
				o, err = Open(src, &OpenOptions{Identities: []*keyblob.Identity{bob}})
			}
			var got []byte
			if err == nil {
				got, err = io.ReadAll(o.Reader())
			}
			wantClass(t, "open", err, tt.want)
			if err == nil && !bytes.Equal(got, plain) {
				t.Error("wrong plaintext")
			}
			if IsArmored([]byte(tt.text)) != (tt.want != classHeader) {
				t.Error("IsArmored disagrees with Dearmor")
			}
		})
	}
}

// TestArmorReaderErrors: the reader's errors wrap ErrArmor, without a
// package prefix, and it passes the source's errors through.
func TestArmorReaderErrors(t *testing.T) {
	_, err := io.ReadAll(NewArmorReader(strings.NewReader("hello")))
	if !errors.Is(err, ErrArmor) || !strings.HasPrefix(err.Error(), "malformed armor") {
		t.Errorf("got %v, want malformed armor", err)
	}
	boom := errors.New("boom")
	if _, err := io.ReadAll(NewArmorReader(errReader{boom})); err != boom {
		t.Errorf("got %v, want the source's error unchanged", err)
	}
	if _, err := Dearmor(errReader{boom}); err != boom {
		t.Errorf("Dearmor: got %v, want the source's error unchanged", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
