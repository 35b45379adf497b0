package main

import (
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// setVersion gives the root command its --version flag, which prints
// "keyblob VERSION" (see versionOf) and, on a second line, what the build
// knows of itself (see buildOf). There is no version subcommand: one way to
// ask is enough, and --version is the one every tool has; "keyblob version"
// is an unknown command whose suggestion is --version.
func setVersion(root *cobra.Command) {
	bi, ok := debug.ReadBuildInfo()
	root.Version = versionOf(bi, ok) + "\n" + buildOf(bi, ok)
	root.SetVersionTemplate("keyblob {{.Version}}\n")
}

// versionOf is the version of the binary described by the build info: the
// main module's version, "(devel)" when built from a checkout without
// one, followed by the VCS revision (12 digits, "+dirty" if the work tree
// had changes) when the build recorded one that the version does not
// already name, as a pseudo-version does.
func versionOf(bi *debug.BuildInfo, ok bool) string {
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	rev := buildSetting(bi, "vcs.revision")
	rev = rev[:min(12, len(rev))]
	if rev == "" || strings.Contains(v, rev) {
		return v
	}
	if buildSetting(bi, "vcs.modified") == "true" {
		rev += "+dirty"
	}
	return v + " " + rev
}

// buildOf is the second line of --version: the Go release and platform the
// binary was built with and, when the build recorded it, the time of its
// VCS commit; a build without VCS data says so, since then the version
// alone cannot name the source.
func buildOf(bi *debug.BuildInfo, ok bool) string {
	if !ok {
		return "built with " + runtime.Version() + " for " + runtime.GOOS + "/" + runtime.GOARCH
	}
	line := "built with " + bi.GoVersion + " for " + runtime.GOOS + "/" + runtime.GOARCH
	switch t := buildSetting(bi, "vcs.time"); {
	case t != "":
		return line + " from a commit of " + t
	case buildSetting(bi, "vcs.revision") == "" && !strings.HasPrefix(bi.Main.Version, "v"):
		return line + ", without VCS data (built outside a checkout or with -buildvcs=false)"
	}
	return line
}

// buildSetting is the value of the build setting key, or "".
func buildSetting(bi *debug.BuildInfo, key string) string {
	for _, s := range bi.Settings {
		if s.Key == key {
			return s.Value
		}
	}
	return ""
}

// versionLine is the first line of root's version: the version alone,
// without the build line (a man page's source names only that).
func versionLine(root *cobra.Command) string {
	v, _, _ := strings.Cut(root.Version, "\n")
	return v
}
