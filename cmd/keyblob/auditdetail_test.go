package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode"

	"github.com/keyblob/keyblob"
)

// TestDetailText checks the compact text of audit details: members in
// order as key=value, null as "-", a recipient line as its kind and
// fingerprint, long values shortened, anything not plain quoted.
func TestDetailText(t *testing.T) {
	id, err := keyblob.GenerateIdentity("")
	if err != nil {
		t.Fatal(err)
	}
	r := id.Recipient()
	line := r.String()
	serial := strings.Repeat("48", 16)
	long := strings.Repeat("x", maxShown+1)
	tests := []struct {
		name, detail, want string
	}{
		{"attempt", `{"attempt":10}`, "attempt=10"},
		{"recovery request", `{"to":"` + line + `","serial":null,"expires":"2025-01-03T03:04:08Z"}`,
			"to=" + r.Kind() + "(" + r.Fingerprint().String() + ") serial=- expires=2025-01-03T03:04:08Z"},
		{"deposit", `{"serial":"` + serial + `","description":"quarterly report","created":"2025-01-02T03:04:05Z"}`,
			"serial=" + serial + ` description="quarterly report" created=2025-01-02T03:04:05Z`},
		{"long value", `{"k":"` + long + `"}`, "k=" + long[:shortShown] + "…"},
		{"long key", `{"` + long + `":1}`, long[:shortShown] + "…=1"},
		{"array", `{"serials":["a","b"]}`, "serials=[a,b]"},
		{"long array", `{"serials":["a","b","c","d","e"]}`, "serials=[a,b,c,…+2]"},
		{"empty array", `{"serials":[]}`, "serials=[]"},
		{"nested", `{"o":{"a": 1},"t":true}`, `o="{\"a\":1}" t=true`},
		{"empty", `{}`, ""},
		{"control", `{"d":"a\tb\u202e\r\n"}`, `d="a\tb\u202e\r\n"`},
		{"separators", `{"a=b":"c d","e":"[f]","g":""}`, `"a=b"="c d" e="[f]" g=""`},
		{"not a recipient", `{"to":"keyblob:nonsense"}`, `to=keyblob:nonsense`},
		{"not JSON", "\x00\xff\"'; DROP TABLE audit; --", `"\x00\xff\"'; DROP TABLE audit; --"`},
		{"an array", `["a"]`, `"[\"a\"]"`},
		{"trailing data", `{"a":1}{}`, `"{\"a\":1}{}"`},
		{"truncated", `{"a":`, `"{\"a\":"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := detailText(tt.detail)
			if got != tt.want {
				t.Errorf("detailText(%q)\n got %s\nwant %s", tt.detail, got, tt.want)
			}
			if strings.ContainsFunc(got, func(r rune) bool { return !unicode.IsPrint(r) }) {
				t.Errorf("detailText(%q) = %q is not printable", tt.detail, got)
			}
		})
	}
}

// TestAuditDetailJSON checks that --json shows a detail that is a JSON
// object as that object, and anything else as a string.
func TestAuditDetailJSON(t *testing.T) {
	tests := []struct{ detail, want string }{
		{`{"to":"x","serial":null}`, `{"to":"x","serial":null}`},
		{`{ "attempt" : 1 }`, `{"attempt":1}`},
		{`not json`, `"not json"`},
		{`["a"]`, `"[\"a\"]"`},
		{`{"a":1} {}`, `"{\"a\":1} {}"`},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		tb := &table{columns: []string{"detail"}}
		tb.add(auditDetail(tt.detail))
		if err := tb.write(&buf, true); err != nil {
			t.Fatalf("%q: %v", tt.detail, err)
		}
		var rows []map[string]json.RawMessage
		if err := json.Unmarshal(buf.Bytes(), &rows); err != nil || len(rows) != 1 {
			t.Fatalf("%q: not one JSON row (%v):\n%s", tt.detail, err, buf.Bytes())
		}
		if got := string(rows[0]["detail"]); got != tt.want {
			t.Errorf("detail %q in --json: got %s, want %s", tt.detail, got, tt.want)
		}
	}
}

// TestTableText checks that a table shows nil as "-" and a cell as its
// text, quoted only if it is not printable.
func TestTableText(t *testing.T) {
	var buf bytes.Buffer
	tb := &table{columns: []string{"a", "b", "c"}}
	tb.add(nil, cell{text: `k="v w"`}, cell{text: "x\ty"})
	if err := tb.write(&buf, false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines:\n%s", len(lines), buf.String())
	}
	if got := strings.Fields(lines[1]); len(got) != 4 || got[0] != "-" || got[1] != `k="v` || got[2] != `w"` || got[3] != `"x\ty"` {
		t.Errorf("row %q: want -, k=\"v w\", \"x\\ty\"", lines[1])
	}
	buf.Reset()
	if err := tb.write(&buf, true); err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rows); err != nil || len(rows) != 1 || rows[0]["a"] != nil {
		t.Errorf("--json: want one row with a null, got %s (%v)", buf.Bytes(), err)
	}
}
