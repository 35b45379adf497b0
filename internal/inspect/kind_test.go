package inspect

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestKinds checks Classify and Inspect on a real file of every kind and
// form, and on files that are none or only start as one: the kind and
// form Classify tells, from the whole file and from its first PeekSize
// bytes, and the report (or the error) of Inspect.
func TestKinds(t *testing.T) {
	seen := map[*Kind]bool{}
	for _, f := range fixtures(t) {
		c := Classify(f.data)
		if name := kindName(c.Kind); name != f.kind || c.Form != f.form {
			t.Errorf("%s: Classify = %q, form %d; want %q, form %d", f.name, name, c.Form, f.kind, f.form)
		}
		if peek := Classify(f.data[:min(len(f.data), PeekSize)]); peek.Kind != c.Kind {
			t.Errorf("%s: Classify of the first %d bytes = %q, of the file %q", f.name, PeekSize, kindName(peek.Kind), kindName(c.Kind))
		}
		seen[c.Kind] = true
		checkInspect(t, f)
	}
	for _, k := range kinds {
		if !seen[k] {
			t.Errorf("no test file of kind %q", k.Name)
		}
	}
}

func checkInspect(t *testing.T, f fixture) {
	rep, err := Inspect(bytes.NewReader(f.data), -1)
	switch {
	case f.typ == "" && err == nil:
		t.Errorf("%s: Inspect made a report of type %s, want an error %q", f.name, typeOf(t, rep), f.err)
	case f.typ == "" && !strings.HasPrefix(err.Error(), f.err):
		t.Errorf("%s: Inspect: %v, want %q", f.name, err, f.err)
	case f.typ == "" && f.kind == "identity" && !errors.As(err, new(*IdentityError)):
		t.Errorf("%s: Inspect: %v (%T), want an IdentityError", f.name, err, err)
	case f.typ != "" && err != nil:
		t.Errorf("%s: Inspect: %v, want a %s", f.name, err, f.typ)
	case f.typ != "" && typeOf(t, rep) != f.typ:
		t.Errorf("%s: Inspect made a %s, want a %s", f.name, typeOf(t, rep), f.typ)
	}
}

func kindName(k *Kind) string {
	if k == nil {
		return ""
	}
	return k.Name
}

// TestReadable checks what the CLI's hints may say a file is: a kind
// whose command reads the file as it is, never a PEM block after text.
func TestReadable(t *testing.T) {
	for _, f := range fixtures(t) {
		c := Classify(f.data)
		want := c.Kind
		if f.form == Embedded {
			want = nil
		}
		if got := c.Readable(); got != want {
			t.Errorf("%s: Readable = %q, want %q", f.name, kindName(got), kindName(want))
		}
		for _, k := range kinds {
			if want := want != nil && k.Label != "" && want.Label == k.Label; c.Is(k.Label) != want {
				t.Errorf("%s: Is(%q) = %v, want %v", f.name, k.Label, !want, want)
			}
		}
	}
}

// TestKindTable checks the table: every kind is recognised some way, no
// two kinds share a type byte or a PEM label, and a hint names its file.
func TestKindTable(t *testing.T) {
	types, labels := map[byte]string{}, map[string]string{}
	for _, k := range kinds {
		if k.Type == 0 && k.Label == "" && k.Prefix == "" && k.match == nil {
			t.Errorf("%s: recognised no way", k.Name)
		}
		if k.Use != "" && !strings.Contains(k.Use, "{file}") {
			t.Errorf("%s: hint %q does not name the file", k.Name, k.Use)
		}
		if other, ok := types[k.Type]; ok && k.Type != 0 {
			t.Errorf("%s and %s share type 0x%02x", k.Name, other, k.Type)
		}
		if other, ok := labels[k.Label]; ok && k.Label != "" {
			t.Errorf("%s and %s share PEM label %q", k.Name, other, k.Label)
		}
		types[k.Type], labels[k.Label] = k.Name, k.Name
	}
}

// FuzzClassify checks that Classify and Inspect never panic, and that
// what Classify tells is consistent.
func FuzzClassify(f *testing.F) {
	for _, fx := range fixtures(f) {
		f.Add(fx.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := Classify(data)
		if c.Kind != nil && c.Form == Unknown {
			t.Errorf("kind %q of no form", c.Kind.Name)
		}
		if c.Readable() != nil && c.Form == Embedded {
			t.Error("a PEM block after text is readable")
		}
		rep, err := Inspect(bytes.NewReader(data), -1)
		if (rep == nil) == (err == nil) {
			t.Errorf("Inspect: report %v and error %v", rep != nil, err)
		}
		if c.Form == Unknown && !errors.Is(err, ErrUnknown) {
			t.Errorf("Inspect of a file of no form: %v", err)
		}
	})
}
