package format

import (
	"bytes"
	"encoding/pem"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// testContent is 100 bytes: its base64 ("+/+/...") is two lines of 64
// characters and one of 8 ending in "==", whose last character before
// "==" carries four padding bits.
var testContent = bytes.Repeat([]byte{0xfb, 0xff, 0xbf}, 34)[:100]

// armorCase is one input and whether the armor rule of spec/blob.md
// section 4 accepts it.
type armorCase struct {
	name string
	text string
	ok   bool
}

// armorCases are the edges of the rule, around a canonical block of
// testContent.
func armorCases() []armorCase {
	good := string(Armor(PEMBlob, testContent))
	ls := strings.Split(strings.TrimSuffix(good, "\n"), "\n") // begin, 64, 64, 8, end
	join := func(lines ...string) string { return strings.Join(lines, "\n") + "\n" }
	b64 := ls[1] + ls[2] + ls[3]
	last := ls[3]
	loose := last[:len(last)-3] + string(last[len(last)-3]^1) + "=="
	return []armorCase{
		{"canonical", good, true},
		{"leading SP HT CR LF", " \t\r\n\n  \t" + good, true},
		{"leading 1 MiB of spaces", strings.Repeat(" ", 1<<20) + good, true},
		{"CRLF line ends", strings.ReplaceAll(good, "\n", "\r\n"), true},
		{"LF and CRLF mixed", strings.Replace(good, "\n", "\r\n", 2), true},
		{"no line end after the end line", strings.TrimSuffix(good, "\n"), true},
		{"CR alone after the end line", strings.TrimSuffix(good, "\n") + "\r", true},
		{"trailing SP HT CR LF", good + " \t\r\n\n \t", true},
		{"spaces on the end line", strings.TrimSuffix(good, "\n") + "   \n", true},
		{"200 KiB of white space after", good + strings.Repeat(" \n", 100<<10), true},
		{"leading U+00A0", "\u00a0" + good, false},
		{"leading U+2028", "\u2028" + good, false},
		{"leading VT", "\v" + good, false},
		{"leading FF", "\f" + good, false},
		{"trailing U+00A0", good + "\u00a0", false},
		{"trailing U+2028", good + "\u2028\n", false},
		{"trailing VT", good + "\v", false},
		{"text before", "x\n" + good, false},
		{"text after", good + "x\n", false},
		{"text after 200 KiB of white space", good + strings.Repeat(" ", 200<<10) + "x", false},
		{"second block", good + good, false},
		{"PEM header", join(ls[0], "Proc-Type: 4,ENCRYPTED", "", ls[1], ls[2], ls[3], ls[4]), false},
		{"blank line after begin", join(ls[0], "", ls[1], ls[2], ls[3], ls[4]), false},
		{"blank line before end", join(ls[0], ls[1], ls[2], ls[3], "", ls[4]), false},
		{"space after the begin line", join(ls[0]+" ", ls[1], ls[2], ls[3], ls[4]), false},
		{"space at a base64 line end", join(ls[0], ls[1]+" ", ls[2], ls[3], ls[4]), false},
		{"space before a base64 line", join(ls[0], " "+ls[1], ls[2], ls[3], ls[4]), false},
		{"CR inside a line", join(ls[0], ls[1][:32]+"\r"+ls[1][32:], ls[2], ls[3], ls[4]), false},
		{"CR CR LF", strings.Replace(good, "\n", "\r\r\n", 2), false},
		{"LF CR", strings.Replace(good, "\n", "\n\r", 2), false},
		{"CR line ends", strings.ReplaceAll(good, "\n", "\r"), false},
		{"other label", string(Armor(PEMSealed, testContent)), false},
		{"lower-case label", strings.ToLower(good), false},
		{"end label differs", join(ls[0], ls[1], ls[2], ls[3], "-----END KEYBLOB SESSION KEY-----"), false},
		{"space in label", strings.ReplaceAll(good, "KEY BLOB", "KEY  BLOB"), false},
		{"line of 60 first", join(ls[0], b64[:60], b64[60:124], b64[124:], ls[4]), false},
		{"line of 65 first", join(ls[0], b64[:65], b64[65:129], b64[129:], ls[4]), false},
		{"line of 76", join(ls[0], b64[:76], b64[76:], ls[4]), false},
		{"short line not last", join(ls[0], ls[1], ls[2], last[:4], last[4:], ls[4]), false},
		{"padding bits", join(ls[0], ls[1], ls[2], loose, ls[4]), false},
		{"no padding", join(ls[0], ls[1], ls[2], strings.TrimRight(last, "="), ls[4]), false},
		{"bad character", join(ls[0], "*"+ls[1][1:], ls[2], ls[3], ls[4]), false},
		{"URL-safe alphabet", join(ls[0], strings.NewReplacer("+", "-", "/", "_").Replace(ls[1]), ls[2], ls[3], ls[4]), false},
		{"missing end", join(ls[:4]...), false},
		{"missing begin", join(ls[1:]...), false},
		{"empty block", join(ls[0], ls[4]), false},
		{"nothing", "", false},
		{"white space only", " \n", false},
	}
}

func TestArmorRule(t *testing.T) {
	for _, tt := range armorCases() {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Unarmor([]byte(tt.text), PEMBlob)
			if tt.ok != (err == nil) || err != nil && !errors.Is(err, ErrArmor) {
				t.Fatalf("Unarmor: %v, want ok %v", err, tt.ok)
			}
			if tt.ok && !bytes.Equal(got, testContent) {
				t.Fatal("Unarmor: wrong content")
			}
			// Read a byte at a time, the streaming reader agrees.
			got, err = io.ReadAll(NewArmorReader(iotest.OneByteReader(strings.NewReader(tt.text)), PEMBlob))
			if tt.ok != (err == nil) || tt.ok && !bytes.Equal(got, testContent) {
				t.Fatalf("ArmorReader: %v, want ok %v", err, tt.ok)
			}
		})
	}
}

func TestArmorMatchesEncodingPEM(t *testing.T) {
	for n := 1; n <= 200; n++ {
		data := bytes.Repeat([]byte{byte(n)}, n)
		want := pem.EncodeToMemory(&pem.Block{Type: PEMSealed, Bytes: data})
		if got := Armor(PEMSealed, data); !bytes.Equal(got, want) {
			t.Fatalf("%d bytes: Armor differs from encoding/pem:\n%s\n%s", n, got, want)
		}
		// Written in pieces of 7 bytes, the stream is the same.
		var buf bytes.Buffer
		w, err := NewArmorWriter(&buf, PEMSealed)
		if err != nil {
			t.Fatal(err)
		}
		for rest := data; len(rest) > 0; rest = rest[min(7, len(rest)):] {
			w.Write(rest[:min(7, len(rest))])
		}
		if err := w.Close(); err != nil || !bytes.Equal(buf.Bytes(), want) {
			t.Fatalf("%d bytes written in pieces: %v", n, err)
		}
		if got, err := Unarmor(want, PEMSealed); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: Unarmor: %v", n, err)
		}
	}
}

// TestUnarmorPrefixes: every strict prefix of a block fails but the one
// without the final LF, and so does every flipped bit.
func TestUnarmorPrefixes(t *testing.T) {
	good := Armor(PEMBlob, testContent)
	for i := range len(good) - 1 {
		if _, err := Unarmor(good[:i], PEMBlob); err == nil {
			t.Fatalf("the prefix of %d bytes is accepted", i)
		}
	}
	for i := range len(good) - 1 {
		for bit := range 8 {
			in := bytes.Clone(good)
			in[i] ^= 1 << bit
			got, err := Unarmor(in, PEMBlob)
			if err == nil && bytes.Equal(got, testContent) {
				t.Fatalf("byte %d bit %d flipped: the same content is accepted", i, bit)
			}
		}
	}
}

func TestIsArmored(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"-----BEGIN X", true},
		{" \t\r\n-----BEGIN X", true},
		{"-----BEGIN PRIVATE KEY-----\n", true},
		{"kblbs\x01", false},
		{"", false},
		{" \n", false},
		{"\v-----BEGIN X", false},
		{"\u00a0-----BEGIN X", false},
		{"# comment\n-----BEGIN X", false},
		{"-----BEGIN", false},
	} {
		if got := IsArmored([]byte(tt.in)); got != tt.want {
			t.Errorf("IsArmored(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestArmorLabel(t *testing.T) {
	for _, tt := range []struct {
		in, label string
		ok        bool
	}{
		{"-----BEGIN KEYBLOB ENCRYPTED FILE-----\nAAAA", PEMEncrypted, true},
		{"\r\n -----BEGIN PRIVATE KEY-----\r\n", PEMPrivateKey, true},
		{"-----BEGIN X-----", "X", true},
		{"-----BEGIN X----\n", "", false},
		{"\u00a0-----BEGIN X-----\n", "", false},
		{"kblbe\x01", "", false},
	} {
		if label, ok := ArmorLabel([]byte(tt.in)); label != tt.label || ok != tt.ok {
			t.Errorf("ArmorLabel(%q) = %q, %v; want %q, %v", tt.in, label, ok, tt.label, tt.ok)
		}
	}
}

func TestDearmor(t *testing.T) {
	bin := append(Prefix(TypeSealed), 1, 2, 3)
	good := Armor(PEMSealed, bin)
	tests := []struct {
		name    string
		in      []byte
		armored bool
		want    []byte
		err     error
	}{
		{"binary", bin, false, bin, nil},
		{"empty", nil, false, nil, nil},
		{"binary not keyblob", []byte("hello"), false, []byte("hello"), nil},
		{"armored", good, true, bin, nil},
		{"armored after 1 MiB of white space", append(bytes.Repeat([]byte("\r\n"), 1<<19), good...), true, bin, nil},
		{"white space, then binary", append([]byte("\n"), bin...), false, nil, ErrSpaceNotArmor},
		{"white space only", bytes.Repeat([]byte(" "), 100<<10), false, nil, ErrSpaceNotArmor},
		{"armored, other label", Armor(PEMBlob, bin), true, nil, ErrArmor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, armored, err := Dearmor(bytes.NewReader(tt.in), PEMSealed)
			if err == nil {
				if armored != tt.armored {
					t.Fatalf("armored %v, want %v", armored, tt.armored)
				}
				var got []byte
				got, err = io.ReadAll(r)
				if err == nil && !bytes.Equal(got, tt.want) {
					t.Fatalf("got %q, want %q", got, tt.want)
				}
			}
			if !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if IsArmored(tt.in) != tt.armored {
				t.Error("IsArmored disagrees with Dearmor")
			}
		})
	}
}

func TestArmorIOErrors(t *testing.T) {
	boom := errors.New("boom")
	if _, _, err := Dearmor(iotest.ErrReader(boom), PEMBlob); !errors.Is(err, boom) {
		t.Errorf("Dearmor: %v, want the read error", err)
	}
	good := Armor(PEMBlob, testContent)
	for _, n := range []int{0, 30, len(good) - 10, len(good)} {
		src := io.MultiReader(bytes.NewReader(good[:n]), iotest.ErrReader(boom))
		if _, err := io.ReadAll(NewArmorReader(src, PEMBlob)); !errors.Is(err, boom) {
			t.Errorf("read error after %d bytes: %v", n, err)
		}
	}
	if _, err := NewArmorWriter(failWriter{}, PEMBlob); !errors.Is(err, errFail) {
		t.Errorf("NewArmorWriter: %v", err)
	}
	w, _ := NewArmorWriter(&limitWriter{n: 40}, PEMBlob)
	_, err := w.Write(make([]byte, 100<<10))
	if err == nil {
		err = w.Close()
	}
	if !errors.Is(err, errFail) {
		t.Errorf("ArmorWriter: %v, want the write error", err)
	}
}

var errFail = errors.New("write failed")

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errFail }

// limitWriter accepts n bytes, then fails.
type limitWriter struct{ n int }

func (l *limitWriter) Write(p []byte) (int, error) {
	if len(p) > l.n {
		return 0, errFail
	}
	l.n -= len(p)
	return len(p), nil
}

// FuzzArmorReader checks the armor decoder against an independent reading
// of spec/blob.md section 4 built on encoding/pem: trim SP, HT, CR and LF
// around the input, turn CR LF into LF, and require what remains plus one
// LF to be the canonical armor of the content. Both must agree on every
// input, the streaming reader, Unarmor, IsArmored and Dearmor among them.
func FuzzArmorReader(f *testing.F) {
	for _, c := range armorCases() {
		if len(c.text) < 4096 {
			f.Add([]byte(c.text))
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := io.ReadAll(NewArmorReader(bytes.NewReader(in), PEMBlob))
		if err != nil && !errors.Is(err, ErrArmor) {
			t.Fatalf("error does not wrap ErrArmor: %v", err)
		}
		want, ok := oracleUnarmor(in, PEMBlob)
		if ok != (err == nil) || ok && !bytes.Equal(got, want) {
			t.Fatalf("reader: %v; independent check: %v", err, ok)
		}
		if whole, werr := Unarmor(in, PEMBlob); (werr == nil) != ok || !bytes.Equal(whole, got) {
			t.Fatalf("Unarmor disagrees with the reader: %v", werr)
		}
		if ok && !IsArmored(in) {
			t.Fatal("accepted, but IsArmored is false")
		}
		if _, armored, derr := Dearmor(bytes.NewReader(in), PEMBlob); derr == nil && armored != IsArmored(in) {
			t.Fatal("Dearmor and IsArmored disagree")
		}
	})
}

// oracleUnarmor decodes armor the long way, with encoding/pem.
func oracleUnarmor(in []byte, label string) ([]byte, bool) {
	norm := bytes.Trim(in, " \t\r\n")
	norm = append(bytes.ReplaceAll(norm, []byte("\r\n"), []byte("\n")), '\n')
	block, _ := pem.Decode(norm)
	if block == nil || block.Type != label || len(block.Bytes) == 0 {
		return nil, false
	}
	return block.Bytes, bytes.Equal(pem.EncodeToMemory(&pem.Block{Type: label, Bytes: block.Bytes}), norm)
}
