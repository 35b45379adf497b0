package main

import (
	"bytes"
	"runtime/debug"
	"testing"
)

func TestVersionOf(t *testing.T) {
	const rev = "4b18073e1f2a3b4c5d6e7f8091a2b3c4d5e6f708"
	vcs := func(modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	tests := []struct {
		name     string
		version  string
		settings []debug.BuildSetting
		want     string
	}{
		{"release", "v1.2.3", nil, "v1.2.3"},
		{"checkout without VCS stamp", "(devel)", nil, "(devel)"},
		{"no version at all", "", nil, "(devel)"},
		{"checkout, clean", "(devel)", vcs("false"), "(devel) 4b18073e1f2a"},
		{"checkout, changed", "(devel)", vcs("true"), "(devel) 4b18073e1f2a+dirty"},
		{"pseudo-version names the revision", "v0.0.0-20260101000000-4b18073e1f2a+dirty", vcs("true"), "v0.0.0-20260101000000-4b18073e1f2a+dirty"},
		{"tag at another revision", "v1.2.3", vcs("false"), "v1.2.3 4b18073e1f2a"},
		{"short revision", "(devel)", []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}}, "(devel) abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bi := &debug.BuildInfo{Main: debug.Module{Path: "github.com/keyblob/keyblob", Version: tt.version}, Settings: tt.settings}
			if got := versionOf(bi, true); got != tt.want {
				t.Errorf("versionOf = %q, want %q", got, tt.want)
			}
		})
	}
	if got := versionOf(nil, false); got != "(unknown)" {
		t.Errorf("versionOf without build info = %q", got)
	}
}

// TestVersionFlag checks that --version prints "keyblob " and the
// version of this binary, and nothing else.
func TestVersionFlag(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"--version"}, nil, &out, &errOut); code != 0 || errOut.Len() != 0 {
		t.Fatalf("--version: exit %d, stderr %q", code, errOut.String())
	}
	bi, ok := debug.ReadBuildInfo()
	if want := "keyblob " + versionOf(bi, ok) + "\n"; out.String() != want {
		t.Errorf("--version printed %q, want %q", out.String(), want)
	}
}
