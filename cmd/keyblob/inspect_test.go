package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/rogpeppe/go-internal/txtar"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/keystore"
	"github.com/keyblob/keyblob/password"
)

// jsonget is a script command of inspect's scripts:
//
//	jsonget FILE PATH       print the JSON value at PATH in FILE (or
//	                        stdout), compact, as stdout; PATH is members
//	                        and list indexes joined by dots ("a.0.b")
func init() { scriptCmds["jsonget"] = cmdJSONGet }

func cmdJSONGet(ts *testscript.TestScript, neg bool, args []string) {
	usage(ts, neg, 2, args, "jsonget FILE PATH")
	var v any
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &v))
	for _, step := range strings.Split(args[1], ".") {
		v = jsonStep(ts, v, step)
	}
	out, err := json.Marshal(v)
	ts.Check(err)
	ts.Stdout().Write(append(out, '\n'))
}

func jsonStep(ts *testscript.TestScript, v any, step string) any {
	switch v := v.(type) {
	case map[string]any:
		next, ok := v[step]
		if !ok {
			ts.Fatalf("no member %q", step)
		}
		return next
	case []any:
		i, err := strconv.Atoi(step)
		if err != nil || i < 0 || i >= len(v) {
			ts.Fatalf("no element %q in a list of %d", step, len(v))
		}
		return v[i]
	}
	ts.Fatalf("%q: not an object or a list", step)
	return nil
}

// TestInspectSchema checks the JSON form of every type of file against
// the members that fileTypes (and with it the help) documents: the
// fixtures of inspect_json.txtar, a recipients file, and a stored
// identity.
func TestInspectSchema(t *testing.T) {
	dir := t.TempDir()
	files := writeFixtures(t, dir)
	files = append(files, writeRecipients(t, dir), writeStoredIdentity(t, dir))
	seen := map[string]bool{}
	for _, name := range files {
		rep, err := (&env{}).inspect(name)
		if err != nil {
			t.Fatalf("inspect %s: %v", name, err)
		}
		typ, members := schemaOf(t, rep)
		seen[typ] = true
		if want := documentedMembers(typ); !slices.Equal(members, want) {
			t.Errorf("%s (%s): members %v, documented %v", filepath.Base(name), typ, members, want)
		}
		checkNoProse(t, name, rep)
	}
	for _, ft := range fileTypes {
		if !seen[ft.name] {
			t.Errorf("no test file of type %s", ft.name)
		}
	}
}

// writeFixtures writes the files of inspect_json.txtar to dir.
func writeFixtures(t *testing.T, dir string) []string {
	ar, err := txtar.ParseFile(filepath.Join("testdata", "script", "inspect_json.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range ar.Files {
		if strings.Contains(f.Name, "/") || strings.HasSuffix(f.Name, ".bad") {
			continue // expected outputs, and files that must fail
		}
		name := filepath.Join(dir, f.Name)
		if err := os.WriteFile(name, f.Data, 0o600); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	return names
}

func writeRecipients(t *testing.T, dir string) string {
	var b bytes.Buffer
	for _, kind := range []string{keyblob.KindX25519, keyblob.KindHybrid} {
		id, err := keyblob.GenerateIdentity(kind)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(id.Recipient().String() + "\n")
	}
	name := filepath.Join(dir, "team.txt")
	if err := os.WriteFile(name, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

func writeStoredIdentity(t *testing.T, dir string) string {
	cheap := password.Params{Time: 1, MemoryKiB: password.MinMemoryKiB, Threads: 1}
	s, err := keystore.Create(filepath.Join(dir, "store"), &keystore.Options{Params: cheap})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.NewIdentity("me", keyblob.KindX25519, []byte("correct horse battery staple")); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(s.Dir(), "identities", "me.id")
}

// schemaOf returns the type of a report and the JSON members after it.
func schemaOf(t *testing.T, rep *report) (string, []string) {
	var out bytes.Buffer
	if err := rep.writeJSON(&out); err != nil {
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
	for _, ft := range fileTypes {
		if ft.name == typ {
			return ft.members
		}
	}
	return nil
}

// checkNoProse checks that every string of the JSON form is a token, a
// number-like value, a name of an algorithm, a time or the description:
// nothing that holds the text form's explanations.
func checkNoProse(t *testing.T, name string, rep *report) {
	var out bytes.Buffer
	if err := rep.writeJSON(&out); err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.fields {
		if f.key == "" {
			continue
		}
		if s, ok := f.value.(string); ok && f.key != "description" && strings.ContainsAny(s, ":;'") {
			t.Errorf("%s: %s is prose: %q", name, f.key, s)
		}
	}
	for _, banned := range []string{`"none"`, `"never"`, `"-"`, `"invalid`} {
		if bytes.Contains(out.Bytes(), []byte(banned)) {
			t.Errorf("%s: the JSON form holds %s:\n%s", name, banned, out.Bytes())
		}
	}
}

// TestInspectBounded checks that inspect reads no more than
// maxInspectText of a text file, and that a file that starts like none of
// keyblob's is refused without being read to its end.
func TestInspectBounded(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, start, want string
	}{
		{"huge.pem", "-----BEGIN PRIVATE KEY-----\n", "over 2 MiB"},
		{"huge.gens", "keyblob generation record v1 \"me\"\n", "over 2 MiB"},
		{"huge.bin", "\x00\x01", "not a keyblob file"},
	}
	for _, tt := range tests {
		name := filepath.Join(dir, tt.name)
		data := append([]byte(tt.start), bytes.Repeat([]byte("A"), maxInspectText+1)...)
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := (&env{}).inspect(name)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("inspect %s: %v, want an error with %q", tt.name, err, tt.want)
		}
	}
}
