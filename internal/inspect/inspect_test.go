package inspect

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

// TestSchema checks the JSON form of every report of the fixtures against
// the members that reportTypes (and with it the help) documents, and that
// it holds no prose; every type of report must be among them.
func TestSchema(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range fixtures(t) {
		rep, err := Inspect(bytes.NewReader(f.data), -1)
		if err != nil {
			continue // TestKinds checks the errors
		}
		typ, members := schemaOf(t, rep)
		seen[typ] = true
		if want := documentedMembers(typ); !slices.Equal(members, want) {
			t.Errorf("%s (%s): members %v, documented %v", f.name, typ, members, want)
		}
		checkNoProse(t, f.name, rep)
	}
	for _, rt := range reportTypes {
		if !seen[rt.name] {
			t.Errorf("no test file of type %s", rt.name)
		}
	}
}

// typeOf returns the type of a report.
func typeOf(t *testing.T, rep *Report) string {
	typ, _ := schemaOf(t, rep)
	return typ
}

// schemaOf returns the type of a report and the JSON members after it.
func schemaOf(t *testing.T, rep *Report) (string, []string) {
	var out bytes.Buffer
	if err := rep.WriteJSON(&out); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(&out)
	var keys []string
	var typ string
	if _, err := dec.Token(); err != nil { // {
		t.Fatal(err)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		key := tok.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if key == "type" {
			typ = v.(string)
			continue
		}
		keys = append(keys, key)
	}
	return typ, keys
}

func documentedMembers(typ string) []string {
	for _, rt := range reportTypes {
		if rt.name == typ {
			return rt.members
		}
	}
	return nil
}

// verbatim are the members that hold the file's own text, unchanged.
var verbatim = map[string]bool{"description": true, "subject": true, "issuer": true, "url": true, "authority": true}

// checkNoProse checks that every string of the JSON form is a token, a
// number-like value, a name of an algorithm, a time or the description:
// nothing that holds the text form's explanations.
func checkNoProse(t *testing.T, name string, rep *Report) {
	var out bytes.Buffer
	if err := rep.WriteJSON(&out); err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.fields {
		if f.key == "" {
			continue
		}
		if s, ok := f.value.(string); ok && !verbatim[f.key] && strings.ContainsAny(s, ":;'") {
			t.Errorf("%s: %s is prose: %q", name, f.key, s)
		}
	}
	for _, banned := range []string{`"none"`, `"never"`, `"-"`, `"invalid`} {
		if bytes.Contains(out.Bytes(), []byte(banned)) {
			t.Errorf("%s: the JSON form holds %s:\n%s", name, banned, out.Bytes())
		}
	}
}

// TestBounded checks that Inspect reads no more than MaxText of a text
// file, and that a file that starts like none of keyblob's is refused
// after its first Head bytes.
func TestBounded(t *testing.T) {
	tests := []struct {
		name, start string
		want        error
		read        int64
	}{
		{"huge.pem", "-----BEGIN PRIVATE KEY-----\n", ErrTooLarge, MaxText + 1},
		{"huge.gens", "keyblob generation record v1 \"me\"\n", ErrTooLarge, MaxText + 1},
		{"huge.bin", "\x00\x01", ErrUnknown, Head},
	}
	for _, tt := range tests {
		data := append([]byte(tt.start), bytes.Repeat([]byte("A"), 2*MaxText)...)
		r := &countingReader{r: bytes.NewReader(data)}
		_, err := Inspect(r, int64(len(data)))
		if !errors.Is(err, tt.want) {
			t.Errorf("inspect %s: %v, want %v", tt.name, err, tt.want)
		}
		if r.n > tt.read+4096 { // the last read may fill a buffer
			t.Errorf("inspect %s: read %d bytes, want at most about %d", tt.name, r.n, tt.read)
		}
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestSizeGiven checks that the size a caller gives (a regular file's)
// makes the report that counting the input makes.
func TestSizeGiven(t *testing.T) {
	for _, f := range fixtures(t) {
		counted, err := Inspect(bytes.NewReader(f.data), -1)
		if err != nil {
			continue
		}
		given, err := Inspect(bytes.NewReader(f.data), int64(len(f.data)))
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		var a, b bytes.Buffer
		if err := counted.WriteText(&a); err != nil {
			t.Fatal(err)
		}
		if err := given.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		if a.String() != b.String() {
			t.Errorf("%s: with the size given:\n%s\ncounted:\n%s", f.name, &b, &a)
		}
	}
}
