package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// manDate is the date of the man pages when neither SOURCE_DATE_EPOCH nor
// the build's VCS time says one: a constant, not the time of the run, so
// that the same keyblob always writes the same pages.
var manDate = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

func newManCmd(e *env) *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:   "man [--force] DIR",
		Short: "Write the manual pages of keyblob and its commands to DIR",
		Long: `man writes a manual page (section 1) for keyblob and for each of its
commands to DIR: keyblob.1, keyblob-seal.1, keyblob-id-new.1, and so on.
DIR is made (mode 0755) if it does not exist; its parent must. No page
replaces an existing file unless --force; without it, nothing is written
if any page exists.

The pages are the same for the same keyblob: their date is
$SOURCE_DATE_EPOCH (seconds since 1970) if set, else the time of the
build's VCS commit, else a constant. Install them with, for example,
'keyblob man ~/.local/share/man/man1'.`,
		Args: argsExactly(1),
		RunE: func(c *cobra.Command, args []string) error {
			date, err := e.manPageDate()
			if err != nil {
				return err
			}
			pages, err := manPages(c.Root(), date)
			if err != nil {
				return err
			}
			return e.writeManPages(args[0], pages, force)
		},
	}
	c.Flags().BoolVar(&force, "force", false, "replace existing pages")
	return c
}

// A manPage is one generated page: its file name and contents.
type manPage struct {
	name string
	data []byte
}

// manPages generates the page of every available command under root, as
// doc.GenManTree names them, in the order of the command tree.
func manPages(root *cobra.Command, date time.Time) ([]manPage, error) {
	header := &doc.GenManHeader{Title: "", Section: "1", Date: &date,
		Source: "keyblob " + versionLine(root), Manual: "keyblob manual"}
	var pages []manPage
	var walk func(c *cobra.Command) error
	walk = func(c *cobra.Command) error {
		c.DisableAutoGenTag = true // its history line would only repeat the date
		var buf bytes.Buffer
		h := *header
		if err := doc.GenMan(c, &h, &buf); err != nil {
			return err
		}
		pages = append(pages, manPage{strings.ReplaceAll(c.CommandPath(), " ", "-") + ".1", buf.Bytes()})
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() && !sub.IsAdditionalHelpTopicCommand() {
				if err := walk(sub); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return pages, walk(root)
}

// manPageDate is the date of the pages: SOURCE_DATE_EPOCH
// (reproducible-builds.org), else the VCS time the build recorded, else
// manDate.
func (e *env) manPageDate() (time.Time, error) {
	if s := e.env("SOURCE_DATE_EPOCH"); s != "" {
		secs, err := strconv.ParseInt(s, 10, 64)
		if err != nil || secs < 0 {
			return time.Time{}, withHint(fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds", s),
				"set it to seconds since 1970-01-01 UTC, or unset it")
		}
		return time.Unix(secs, 0).UTC(), nil
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if t, err := time.Parse(time.RFC3339, s.Value); s.Key == "vcs.time" && err == nil {
				return t.UTC(), nil
			}
		}
	}
	return manDate, nil
}

// writeManPages writes the pages to dir, made if missing. Without force
// it refuses before writing anything if a page exists, and each write
// refuses a file that appeared meanwhile.
func (e *env) writeManPages(dir string, pages []manPage, force bool) error {
	if err := makeManDir(dir); err != nil {
		return err
	}
	if !force {
		for _, p := range pages {
			if name := filepath.Join(dir, p.name); isFile(name) {
				return withHint(fmt.Errorf("%s already exists", name),
					"--force replaces the pages; nothing was written")
			}
		}
	}
	for _, p := range pages {
		err := e.writeOutput(filepath.Join(dir, p.name), p.data, outputOptions{mode: modePublic, replace: force})
		if err != nil {
			return err
		}
	}
	return nil
}

// makeManDir makes dir (mode 0755) unless it is a directory already.
func makeManDir(dir string) error {
	err := os.Mkdir(dir, 0o755)
	if err == nil || errors.Is(err, fs.ErrExist) {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return withHint(fmt.Errorf("%s is not a directory", dir), "give the directory to write the pages to")
		}
		return nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return withHint(err, "make the parent directory first: only DIR itself is made")
	}
	return err
}
