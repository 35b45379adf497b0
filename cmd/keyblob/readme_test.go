package main

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"

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
