package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/keyblob/keyblob/internal/inspect"
)

// table is what list commands print: aligned columns, or with --json an
// array of objects keyed by column name.
type table struct {
	columns []string
	rows    [][]any
}

func (t *table) add(values ...any) { t.rows = append(t.rows, values) }

// cell is a value shown one way in the table and another with --json:
// text in the column, json (a JSON value) as the member's value.
type cell struct {
	text string
	json json.RawMessage
}

func (t *table) write(w io.Writer, asJSON bool) error {
	if asJSON {
		return t.writeJSON(w)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i, c := range t.columns {
		fmt.Fprint(tw, sep(i), c)
	}
	fmt.Fprintln(tw)
	for _, row := range t.rows {
		for i, v := range row {
			fmt.Fprint(tw, sep(i), textValue(v))
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

func sep(i int) string {
	if i == 0 {
		return ""
	}
	return "\t"
}

// textValue prints a value in a column: nil as "-", a cell as its text;
// strings are quoted if they hold anything but plain printable text (a
// cell's text only if it is not printable).
func textValue(v any) any {
	switch v := v.(type) {
	case nil:
		return "-"
	case cell:
		if strings.ContainsFunc(v.text, func(r rune) bool { return !unicode.IsPrint(r) }) {
			return strconv.Quote(v.text)
		}
		return v.text
	}
	v = inspect.JSONValue(v)
	if s, ok := v.(string); ok && fmt.Sprintf("%q", s) != `"`+s+`"` {
		return fmt.Sprintf("%q", s)
	}
	return v
}

func (t *table) writeJSON(w io.Writer) error {
	var buf bytes.Buffer
	buf.WriteString("[")
	for r, row := range t.rows {
		if r > 0 {
			buf.WriteString(",")
		}
		buf.WriteString("\n  {")
		for i, v := range row {
			k, _ := json.Marshal(t.columns[i])
			val, err := json.Marshal(jsonValue(v))
			if err != nil {
				return err
			}
			if i > 0 {
				buf.WriteString(", ")
			}
			fmt.Fprintf(&buf, "%s: %s", k, val)
		}
		buf.WriteString("}")
	}
	buf.WriteString("\n]\n")
	_, err := w.Write(buf.Bytes())
	return err
}

// jsonValue is a column's value in --json: a cell's json, or the value.
func jsonValue(v any) any {
	if c, ok := v.(cell); ok {
		return c.json
	}
	return inspect.JSONValue(v)
}
