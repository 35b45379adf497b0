package main

import "testing"

// TestWithoutComment: a comment starts at a '#' that begins the line or
// follows white space; a '#' inside a name or file name is kept.
func TestWithoutComment(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"alice", "alice"},
		{"# a comment", ""},
		{"alice # laptop", "alice "},
		{"alice\t# laptop", "alice\t"},
		{"keys/#1.pub", "keys/#1.pub"},
		{"keys/#1.pub # the first", "keys/#1.pub "},
		{"", ""},
	} {
		if got := withoutComment(tt.in); got != tt.want {
			t.Errorf("withoutComment(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
