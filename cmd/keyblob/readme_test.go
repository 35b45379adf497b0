package main

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// readmePath is the README whose walk-throughs the scripts run verbatim.
var readmePath = filepath.Join("..", "..", "README.md")

func init() { scriptCmds["readme"] = cmdReadme }

// cmdReadme is the script command
//
//	readme HEADING FILE     write the ```sh blocks of the README section
//	                        whose "## " heading starts with HEADING to FILE
//
// so that a script runs the README's commands exactly as they are printed.
func cmdReadme(ts *testscript.TestScript, neg bool, args []string) {
	usage(ts, neg, 2, args, "readme HEADING FILE")
	data, err := os.ReadFile(readmePath)
	ts.Check(err)
	blocks := readmeBlocks(data, args[0])
	if blocks == "" {
		ts.Fatalf("README.md has no ```sh block under a heading %q", args[0])
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(blocks), 0o644))
}

// readmeBlocks returns the ```sh blocks of the section of data whose
// heading starts with "## "+heading, joined.
func readmeBlocks(data []byte, heading string) string {
	var out strings.Builder
	inSection, inBlock := false, false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case inBlock && line == "```":
			inBlock = false
		case inBlock:
			out.WriteString(line + "\n")
		case strings.HasPrefix(line, "## "):
			inSection = strings.HasPrefix(line, "## "+heading)
		case inSection && line == "```sh":
			inBlock = true
		}
	}
	return out.String()
}

// readmeSetup is the README section whose ```sh blocks no script runs:
// they build and install keyblob, and run the whole test suite.
const readmeSetup = "Set-up"

// readmeCommand matches a readme command of a script: its HEADING.
var readmeCommand = regexp.MustCompile(`(?m)^readme '([^']+)' `)

// TestReadmeCovered checks that testdata/script/readme.txtar runs every
// README section that has a ```sh block, but the set-up, in the README's
// order, so that a walk-through added to the README, or moved, cannot go
// untested.
func TestReadmeCovered(t *testing.T) {
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile(filepath.Join("testdata", "script", "readme.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, h := range readmeWalkthroughs(readme) {
		if !strings.HasPrefix(h, readmeSetup) {
			want = append(want, h)
		}
	}
	if len(want) == 0 {
		t.Fatalf("%s has no ```sh block outside %q", readmePath, readmeSetup)
	}
	var got []string
	for _, m := range readmeCommand.FindAllStringSubmatch(string(script), -1) {
		got = append(got, m[1])
	}
	if len(got) != len(want) {
		t.Fatalf("readme.txtar runs %d sections %q; the README has %d walk-throughs %q", len(got), got, len(want), want)
	}
	for i := range want {
		if !strings.HasPrefix(want[i], got[i]) {
			t.Errorf("readme.txtar runs %q as walk-through %d; the README's is %q", got[i], i+1, want[i])
		}
	}
}

// readmeWalkthroughs returns the headings (without "## ") of the README
// sections that have a ```sh block, in order.
func readmeWalkthroughs(data []byte) []string {
	var heads []string
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "## "):
			section = strings.TrimPrefix(line, "## ")
		case line == "```sh" && section != "" && !slices.Contains(heads, section):
			heads = append(heads, section)
		}
	}
	return heads
}
