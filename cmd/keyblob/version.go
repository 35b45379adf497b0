package main

import (
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// setVersion gives the root command its --version flag, which prints
// "keyblob VERSION" (see versionOf). There is no version subcommand: one
// way to ask is enough, and --version is the one every tool has.
func setVersion(root *cobra.Command) {
	bi, ok := debug.ReadBuildInfo()
	root.Version = versionOf(bi, ok)
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
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	rev = rev[:min(12, len(rev))]
	if rev == "" || strings.Contains(v, rev) {
		return v
	}
	if modified == "true" {
		rev += "+dirty"
	}
	return v + " " + rev
}
