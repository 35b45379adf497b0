package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// leafCommands returns the commands that do something (not groups such as
// "session"), in help order.
func leafCommands(c *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	for _, sub := range c.Commands() {
		if sub.HasSubCommands() {
			out = append(out, leafCommands(sub)...)
		} else if sub.Runnable() && !sub.Hidden {
			out = append(out, sub)
		}
	}
	return out
}

// usageLine is a command's usage as the README shows it: the path of its
// parent, then its cobra Use ("keyblob session new [-o FILE]").
func usageLine(c *cobra.Command) string {
	return c.Parent().CommandPath() + " " + c.Use
}

// TestReadmeDocumentsCommands checks that the top-level README.md shows
// every command's usage line, exactly as `keyblob CMD --help` prints it.
func TestReadmeDocumentsCommands(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("no README.md")
	}
	if err != nil {
		t.Fatal(err)
	}
	// Compare with runs of white space folded, so that line breaks or
	// alignment in the README do not matter.
	text := strings.Join(strings.Fields(string(readme)), " ")
	cmds := leafCommands(newRootCmd(&env{}))
	if len(cmds) == 0 {
		t.Fatal("no commands found")
	}
	for _, c := range cmds {
		line := strings.Join(strings.Fields(usageLine(c)), " ")
		if !strings.Contains(text, line) {
			t.Errorf("README.md does not show the usage of %q: %s", c.CommandPath(), line)
		}
	}
}

// TestHelp checks that every command has a summary and that its --help
// exits 0 and shows its usage line.
func TestHelp(t *testing.T) {
	for _, c := range leafCommands(newRootCmd(&env{})) {
		path := strings.Fields(c.CommandPath())[1:]
		t.Run(strings.Join(path, "_"), func(t *testing.T) {
			if c.Short == "" || c.Long == "" {
				t.Errorf("%s: no Short or Long help", c.CommandPath())
			}
			code, stdout, stderr := runCmd(t, append(path, "--help")...)
			if code != 0 || stderr != "" {
				t.Fatalf("%s --help: exit %d\n%s", c.CommandPath(), code, stderr)
			}
			if !strings.Contains(stdout, usageLine(c)) {
				t.Errorf("%s --help does not show %q:\n%s", c.CommandPath(), usageLine(c), stdout)
			}
		})
	}
}
