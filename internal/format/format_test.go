package format

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestPrefixAndSniff(t *testing.T) {
	for _, typ := range []byte{TypeBlob, TypeEncrypted, TypeSessionKey, TypeSealed} {
		p := Prefix(typ)
		if len(p) != HeaderSize {
			t.Fatalf("prefix of %q is %d bytes", typ, len(p))
		}
		got, ok := Sniff(append(p, 1, 2, 3))
		if !ok || got != typ {
			t.Errorf("Sniff(Prefix(%q)) = %q, %v", typ, got, ok)
		}
		if err := CheckPrefix(p, typ, "thing"); err != nil {
			t.Errorf("CheckPrefix of its own prefix: %v", err)
		}
	}
}

func TestCheckPrefixRejects(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "no keyblob magic"},
		{"short", []byte("kblb"), "no keyblob magic"},
		{"other magic", []byte("age-en"), "no keyblob magic"},
		{"other type", Prefix(TypeEncrypted), "it is an encrypted file"},
		{"unknown type", append([]byte(Magic), 'z', 1), "unknown type 0x7a"},
		{"version 2", append([]byte(Magic), TypeBlob, 2), "version 2"},
		{"version 0", append([]byte(Magic), TypeBlob, 0), "version 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPrefix(tt.data, TypeBlob, "key blob")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if err := CheckPrefix(append([]byte(Magic), TypeBlob, 2), TypeBlob, "key blob"); !errors.Is(err, ErrUnsupportedVersion) {
		t.Errorf("version 2: %v is not ErrUnsupportedVersion", err)
	}
}

func TestArmorRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 47, 48, 49, 1000} {
		data := bytes.Repeat([]byte{0xa5}, n)
		armored := Armor(PEMBlob, data)
		got, err := Unarmor(armored, PEMBlob)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: %v", n, err)
		}
		crlf := bytes.ReplaceAll(armored, []byte("\n"), []byte("\r\n"))
		if got, err := Unarmor(crlf, PEMBlob); err != nil || !bytes.Equal(got, data) {
			t.Errorf("%d bytes with CRLF: %v", n, err)
		}
		if !IsArmored(armored) || IsArmored(data) && n > 0 {
			t.Errorf("%d bytes: IsArmored is wrong", n)
		}
	}
}

func TestUnarmorRejects(t *testing.T) {
	good := string(Armor(PEMBlob, bytes.Repeat([]byte{7}, 100)))
	lines := strings.Split(strings.TrimSuffix(good, "\n"), "\n")
	tests := map[string]string{
		"not PEM":        "hello",
		"other label":    string(Armor(PEMSealed, []byte{1})),
		"headers":        strings.Replace(good, "\n", "\nProc-Type: 4,ENCRYPTED\n\n", 1),
		"text before":    "x\n" + good,
		"text after":     good + "x\n",
		"second block":   good + good,
		"short line":     strings.Join([]string{lines[0], lines[1][:60], lines[1][60:] + lines[2], lines[3]}, "\n") + "\n",
		"long line":      strings.Join([]string{lines[0], lines[1] + lines[2], lines[3]}, "\n") + "\n",
		"padding bits":   strings.Replace(good, "Bw==", "Bx==", 1),
		"missing end":    strings.Join(lines[:3], "\n") + "\n",
		"lower label":    strings.ToLower(good),
		"space in label": strings.ReplaceAll(good, "KEY BLOB", "KEY  BLOB"),
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := Unarmor([]byte(in), PEMBlob); err == nil {
				t.Fatalf("accepted:\n%s", in)
			}
		})
	}
}

func TestReadAll(t *testing.T) {
	data := bytes.Repeat([]byte{1}, 100)
	if got, err := ReadAll(bytes.NewReader(data), 100); err != nil || len(got) != 100 {
		t.Fatalf("at the limit: %d bytes, %v", len(got), err)
	}
	if _, err := ReadAll(bytes.NewReader(data), 99); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over the limit: %v, want ErrTooLarge", err)
	}
}

// FuzzUnarmor checks that whatever Unarmor accepts re-armors to the same
// text (modulo CRLF and surrounding white space): one encoding per object.
func FuzzUnarmor(f *testing.F) {
	f.Add(Armor(PEMBlob, []byte("hello")))
	f.Add(Armor(PEMBlob, nil))
	f.Add([]byte("-----BEGIN KEYBLOB KEY BLOB-----\n-----END KEYBLOB KEY BLOB-----\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		data, err := Unarmor(in, PEMBlob)
		if err != nil {
			return
		}
		norm := bytes.ReplaceAll(bytes.TrimSpace(in), []byte("\r\n"), []byte("\n"))
		if again := Armor(PEMBlob, data); !bytes.Equal(append(norm, '\n'), again) {
			t.Fatalf("accepted a non-canonical armor:\n%q\ncanonical:\n%q", in, again)
		}
	})
}
