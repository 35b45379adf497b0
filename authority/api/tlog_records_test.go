package api

// The format of the vector files of testdata/tlog (tlog_vectors_test.go):
// '#' comment lines, then records separated by blank lines, each record
// "name: value" lines, a name repeated where a value is a list.

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// field is one "name: value" line of a vector record.
type field struct{ name, value string }

// record is one vector record, in the order its lines are written.
type record []field

// add appends the line name: value.
func (r *record) add(name, value string) { *r = append(*r, field{name, value}) }

// addHashes appends one "hash" line per hash.
func (r *record) addHashes(hs []tlog.Hash) {
	for _, h := range hs {
		r.add("hash", hex.EncodeToString(h[:]))
	}
}

// writeRecords writes a vector file: its comment lines, then its records.
func writeRecords(t testing.TB, name string, comments []string, recs []record) {
	t.Helper()
	var b bytes.Buffer
	for _, c := range comments {
		fmt.Fprintf(&b, "# %s\n", c)
	}
	for _, r := range recs {
		b.WriteString("\n")
		for _, f := range r {
			fmt.Fprintf(&b, "%s: %s\n", f.name, f.value)
		}
	}
	path := filepath.Join(tlogDir, name)
	if err := os.MkdirAll(tlogDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fields is a record as read: each name's values, in order.
type fields struct {
	t      testing.TB
	file   string
	values map[string][]string
}

// one returns the value of name, which must appear once.
func (f fields) one(name string) string {
	f.t.Helper()
	if len(f.values[name]) != 1 {
		f.t.Fatalf("%s: want one %q line in %v", f.file, name, f.values)
	}
	return f.values[name][0]
}

func (f fields) bytes(name string) []byte {
	f.t.Helper()
	b, err := hex.DecodeString(f.one(name))
	if err != nil {
		f.t.Fatalf("%s: %s: %v", f.file, name, err)
	}
	return b
}

func (f fields) hash(name string) tlog.Hash {
	f.t.Helper()
	b := f.bytes(name)
	if len(b) != tlog.HashSize {
		f.t.Fatalf("%s: %s: %d bytes", f.file, name, len(b))
	}
	return tlog.Hash(b)
}

// hashes returns the "hash" lines, a proof.
func (f fields) hashes() []tlog.Hash {
	f.t.Helper()
	out := []tlog.Hash{}
	for _, s := range f.values["hash"] {
		b, err := hex.DecodeString(s)
		if err != nil || len(b) != tlog.HashSize {
			f.t.Fatalf("%s: hash %q", f.file, s)
		}
		out = append(out, tlog.Hash(b))
	}
	return out
}

func (f fields) uint(name string) uint64 {
	f.t.Helper()
	n, err := strconv.ParseUint(f.one(name), 10, 64)
	if err != nil {
		f.t.Fatalf("%s: %s: %v", f.file, name, err)
	}
	return n
}

func (f fields) text(name string) string {
	f.t.Helper()
	s, err := strconv.Unquote(f.one(name))
	if err != nil {
		f.t.Fatalf("%s: %s: %v", f.file, name, err)
	}
	return s
}

// readRecords reads a vector file of tlogDir.
func readRecords(t testing.TB, name string) []fields {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(tlogDir, name))
	if err != nil {
		t.Fatal(err)
	}
	var out []fields
	cur := fields{t: t, file: name, values: map[string][]string{}}
	flush := func() {
		if len(cur.values) > 0 {
			out = append(out, cur)
			cur = fields{t: t, file: name, values: map[string][]string{}}
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#"):
		case line == "":
			flush()
		default:
			k, v, ok := strings.Cut(line, ": ")
			if !ok {
				t.Fatalf("%s: bad line %q", name, line)
			}
			cur.values[k] = append(cur.values[k], v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	flush()
	return out
}
