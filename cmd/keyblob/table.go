package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/keyblob/keyblob/internal/inspect"
)

// table is what list commands print: aligned columns, or with --json an
// array of objects keyed by column name.
type table struct {
	columns []string
	rows    [][]any
}

func (t *table) add(values ...any) { t.rows = append(t.rows, values) }

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

// textValue prints a value in a column; strings are quoted if they hold
// anything but plain printable text.
func textValue(v any) any {
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
			val, err := json.Marshal(inspect.JSONValue(v))
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
