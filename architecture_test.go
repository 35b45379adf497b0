package keyblob_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// architecturePath is the page whose package map must list every package.
const architecturePath = "docs/architecture.md"

// TestArchitectureMap checks that docs/architecture.md's package map
// names every package of the module (as go list ./... prints them), and
// that every directory it names exists: a package added or moved without
// its line in the map fails here.
func TestArchitectureMap(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	data, err := os.ReadFile(architecturePath)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := packageMap(string(data))
	if err != nil {
		t.Fatalf("%s: %v", architecturePath, err)
	}
	for _, pkg := range modulePackages(t) {
		if _, ok := entries[pkg]; !ok {
			t.Errorf("%s: the package map has no line for %s/", architecturePath, pkg)
		}
	}
	for dir := range entries {
		if st, err := os.Stat(filepath.FromSlash(dir)); err != nil || !st.IsDir() {
			t.Errorf("%s: the package map names %s/, which is not a directory", architecturePath, dir)
		}
	}
}

// modulePackages returns the directories of the module's packages,
// relative to the module root ("." for the root package), with slashes.
func modulePackages(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", "{{.Dir}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	var pkgs []string
	for _, dir := range strings.Fields(string(out)) {
		rel, err := filepath.Rel(root, dir)
		if err != nil || strings.HasPrefix(rel, "..") {
			t.Fatalf("go list printed %s, outside the module root %s", dir, root)
		}
		pkgs = append(pkgs, filepath.ToSlash(rel))
	}
	if len(pkgs) < 2 {
		t.Fatalf("go list printed %d package(s): %q", len(pkgs), out)
	}
	return pkgs
}

// packageMap parses the first ``` block of the "## Packages today"
// section: a tree of entries "NAME/  description", two spaces of indent
// per level, whose top entry is the module root. An entry's name may hold
// several path elements (internal/format/); a line indented deeper than
// one level below the entry before it continues that entry's description.
// It returns each entry's directory relative to the root ("." for the
// root), with its description, and an error for an entry without one.
func packageMap(doc string) (map[string]string, error) {
	block, err := mapBlock(doc)
	if err != nil {
		return nil, err
	}
	entries := map[string]string{}
	var stack []string // the directories of the current entry's ancestors and itself
	for _, line := range block {
		trimmed := strings.TrimLeft(line, " ")
		indent := len(line) - len(trimmed)
		name, desc, _ := strings.Cut(trimmed, " ")
		depth := indent / 2
		if indent%2 != 0 || depth > len(stack) || !strings.HasSuffix(name, "/") {
			continue // a continuation line
		}
		dir := "."
		if depth > 0 {
			dir = filepath.ToSlash(filepath.Join(stack[depth-1], strings.TrimSuffix(name, "/")))
		}
		stack = append(stack[:depth], dir)
		if strings.TrimSpace(desc) == "" {
			return nil, fmt.Errorf("the package map's entry %s has no description", name)
		}
		if _, dup := entries[dir]; dup {
			return nil, fmt.Errorf("the package map lists %s/ twice", dir)
		}
		entries[dir] = strings.TrimSpace(desc)
	}
	if len(entries) == 0 {
		return nil, errors.New("the package map has no entries")
	}
	return entries, nil
}

// mapBlock returns the lines of the first ``` block after the
// "## Packages today" heading, before the next heading.
func mapBlock(doc string) ([]string, error) {
	var lines []string
	inSection, inBlock := false, false
	sc := bufio.NewScanner(strings.NewReader(doc))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case inBlock && strings.HasPrefix(line, "```"):
			return lines, nil
		case inBlock:
			lines = append(lines, line)
		case strings.HasPrefix(line, "## "):
			inSection = line == "## Packages today"
		case inSection && strings.HasPrefix(line, "```"):
			inBlock = true
		}
	}
	return nil, errors.New(`no closed code block under "## Packages today"`)
}

// TestPackageMapParse checks the map's grammar on small trees: nesting,
// names of several elements, continuation lines, and refused entries.
func TestPackageMapParse(t *testing.T) {
	const head = "# Notes\n\n## Packages today\n\n```\n"
	const tail = "```\n\n## Next\n\n```\nnot/   the map\n```\n"
	tests := []struct {
		name, tree string
		want       map[string]string // nil: an error
	}{
		{"nested", "mod/   root\n  a/   pkg a\n    b/   pkg a/b\n  c/   pkg c\n",
			map[string]string{".": "root", "a": "pkg a", "a/b": "pkg a/b", "c": "pkg c"}},
		{"several elements", "mod/   root\n  a/   pkg a\n    internal/x/ under a\n  internal/y/ top\n",
			map[string]string{".": "root", "a": "pkg a", "a/internal/x": "under a", "internal/y": "top"}},
		{"continuation", "mod/   root\n  a/   pkg a,\n                  more/ of a's line\n  b/   pkg b\n",
			map[string]string{".": "root", "a": "pkg a,", "b": "pkg b"}},
		{"no description", "mod/   root\n  a/\n", nil},
		{"twice", "mod/   root\n  a/   one\n  a/   two\n", nil},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := packageMap(head + tt.tree + tail)
			if tt.want == nil {
				if err == nil {
					t.Fatalf("packageMap = %v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("packageMap = %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := packageMap("## Packages today\n\n```\nmod/  root\n"); err == nil {
		t.Error("packageMap accepted an unclosed block")
	}
}
