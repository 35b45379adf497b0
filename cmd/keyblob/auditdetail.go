package main

// The detail of an audit entry as escrow log and escrow watch show it: a
// JSON object of the entry's kind (spec/escrow-api.md section 6.3),
// written by the authority, so that nothing in it is trusted to be short
// or printable.

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/keyblob/keyblob"
)

// Bounds of a value shown in a detail: one of up to maxShown characters
// is shown whole (fingerprints, serials and times are), a longer one as
// its first shortShown characters and "…"; an array as its first
// maxElements elements.
const (
	maxShown    = 64
	shortShown  = 16
	maxElements = 3
)

// auditDetail is the detail column of an audit entry: its members in
// compact text (detailText), and with --json the detail's JSON object
// itself (a string if the detail is no JSON object).
func auditDetail(detail string) cell {
	raw := json.RawMessage(detail)
	if _, ok := detailMembers(detail); !ok {
		raw, _ = json.Marshal(detail) // a string always marshals
	}
	return cell{text: detailText(detail), json: raw}
}

// detailText shows a detail as its members, "key=value" separated by
// spaces in the detail's order: null as "-", a recipient line as its
// kind and fingerprint, a long value shortened, a value that is not
// plain text quoted. A detail that is no JSON object is shown shortened
// and quoted. The text is always printable, without tabs or newlines.
func detailText(detail string) string {
	members, ok := detailMembers(detail)
	if !ok {
		return strconv.Quote(shorten(detail))
	}
	parts := make([]string, len(members))
	for i, m := range members {
		parts[i] = plainOrQuoted(shorten(m.key)) + "=" + valueText(m.value)
	}
	return strings.Join(parts, " ")
}

// member is one member of a JSON object.
type member struct {
	key   string
	value json.RawMessage
}

// detailMembers parses detail as one JSON object, in its order; ok is
// false for anything else (trailing data included).
func detailMembers(detail string) (members []member, ok bool) {
	dec := json.NewDecoder(strings.NewReader(detail))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	for dec.More() {
		t, err := dec.Token()
		key, isKey := t.(string)
		if err != nil || !isKey {
			return nil, false
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		members = append(members, member{key, v})
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return members, true
}

// valueText shows one JSON value of a detail.
func valueText(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "?"
	}
	switch v[0] {
	case 'n':
		return "-"
	case '"':
		var s string
		if json.Unmarshal(v, &s) != nil {
			return "?"
		}
		return stringText(s)
	case '[':
		var elems []json.RawMessage
		if json.Unmarshal(v, &elems) != nil {
			return "?"
		}
		return arrayText(elems)
	}
	var compact bytes.Buffer
	if json.Compact(&compact, v) != nil {
		return "?"
	}
	return plainOrQuoted(shorten(compact.String()))
}

// stringText shows a string value: a recipient line as KIND(FINGERPRINT),
// anything else shortened and, unless plain, quoted.
func stringText(s string) string {
	if strings.HasPrefix(s, keyblob.RecipientPrefix) {
		if r, err := keyblob.ParseRecipientLine(s); err == nil {
			return r.Kind() + "(" + r.Fingerprint().String() + ")"
		}
	}
	return plainOrQuoted(shorten(s))
}

// arrayText shows an array as [A,B,C], with "…+N" for the N elements
// beyond the first maxElements.
func arrayText(elems []json.RawMessage) string {
	shown := elems[:min(len(elems), maxElements)]
	parts := make([]string, len(shown), len(shown)+1)
	for i, e := range shown {
		parts[i] = valueText(e)
	}
	if rest := len(elems) - len(shown); rest > 0 {
		parts = append(parts, "…+"+strconv.Itoa(rest))
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// shorten returns s if it has up to maxShown characters, else its first
// shortShown characters and "…".
func shorten(s string) string {
	if utf8.RuneCountInString(s) <= maxShown {
		return s
	}
	n := 0
	for i := range s {
		if n == shortShown {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// plainOrQuoted returns s if it is plain text (printable, no space and
// none of the characters that separate members and values), else s
// quoted.
func plainOrQuoted(s string) string {
	q := strconv.Quote(s)
	if s == "" || q[1:len(q)-1] != s || strings.ContainsAny(s, " =,[]") {
		return q
	}
	return s
}
