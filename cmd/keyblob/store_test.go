package main

import (
	"fmt"
	"testing"
)

// TestDamagedText: the reason of a damaged entry is printed as it is when
// it is printable (quotes included), and quoted when it holds anything a
// terminal would act on.
func TestDamagedText(t *testing.T) {
	tests := []struct{ reason, want string }{
		{`identity "me": malformed armor`, `damaged: identity "me": malformed armor`},
		{"contact \"eve\": \x1b[31mred", `damaged: "contact \"eve\": \x1b[31mred"`},
		{"two\nlines", `damaged: "two\nlines"`},
		{"", "damaged: "},
	}
	for _, tt := range tests {
		if got := fmt.Sprint(damagedText(tt.reason)); got != tt.want {
			t.Errorf("damagedText(%q) prints %q, want %q", tt.reason, got, tt.want)
		}
		if got := fmt.Sprint(textValue(damagedText(tt.reason))); got != tt.want {
			t.Errorf("in a table, damagedText(%q) prints %q, want %q", tt.reason, got, tt.want)
		}
	}
}
