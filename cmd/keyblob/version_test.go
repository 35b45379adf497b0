package main

import (
	"bytes"
	"runtime"
	"runtime/debug"
	"strings"
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

// TestBuildOf checks the second line of --version: the Go release and
// platform always, the commit time when the build has one, and a word that
// VCS data is missing when nothing else names the source.
func TestBuildOf(t *testing.T) {
	plat := " for " + runtime.GOOS + "/" + runtime.GOARCH
	tests := []struct {
		name     string
		version  string
		settings []debug.BuildSetting
		want     string
	}{
		{"checkout with VCS", "(devel)", []debug.BuildSetting{{Key: "vcs.revision", Value: "4b18073e1f2a"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}},
			"built with go1.26.8" + plat + " from a commit of 2026-12-01T10:00:00Z"},
		{"checkout without VCS", "(devel)", nil,
			"built with go1.26.8" + plat + ", without VCS data (built outside a checkout or with -buildvcs=false)"},
		{"release from the module proxy", "v1.2.3", nil, "built with go1.26.8" + plat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: tt.version}, Settings: tt.settings}
			if got := buildOf(bi, true); got != tt.want {
				t.Errorf("buildOf = %q, want %q", got, tt.want)
			}
		})
	}
	if got := buildOf(nil, false); !strings.HasPrefix(got, "built with "+runtime.Version()) {
		t.Errorf("buildOf without build info = %q", got)
	}
}

// TestVersionFlag checks that --version prints "keyblob " and the
// version of this binary, then its build line, and nothing else.
func TestVersionFlag(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"--version"}, nil, &out, &errOut); code != 0 || errOut.Len() != 0 {
		t.Fatalf("--version: exit %d, stderr %q", code, errOut.String())
	}
	bi, ok := debug.ReadBuildInfo()
	if want := "keyblob " + versionOf(bi, ok) + "\n" + buildOf(bi, ok) + "\n"; out.String() != want {
		t.Errorf("--version printed %q, want %q", out.String(), want)
	}
}
