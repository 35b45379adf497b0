package main

// The command-line conventions that hold for every command, applied once
// to the whole command tree (conventions) rather than command by command:
// a command line that must change exits 2 (docs/architecture.md, "The
// CLI"). That covers an unknown subcommand at any depth, a single-value
// flag given twice, a flag that means nothing without another, and
// standard input claimed by two arguments.

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// needsAnnotation marks a flag that means something only together with
// other flags (requireWith); its value lists their names.
const needsAnnotation = "keyblob_needs"

// conventions applies the conventions to root and every command under
// it. It runs once the tree is complete, with cobra's completion command.
func conventions(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	root.InitDefaultHelpCmd()
	for _, c := range root.Commands() {
		if c.Name() == "help" {
			c.Run, c.RunE = nil, helpTopic
		}
	}
	walk(root, func(c *cobra.Command) {
		onceFlags(c.LocalNonPersistentFlags())
		if c == root {
			onceFlags(c.PersistentFlags())
		}
		if c.HasSubCommands() && !c.Runnable() {
			c.Args = unknownSubcommand
			c.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
		}
		if c.RunE != nil {
			c.RunE = checkedRun(c.RunE)
		}
	})
}

// walk calls f on c and on every command under it.
func walk(c *cobra.Command, f func(*cobra.Command)) {
	f(c)
	for _, sub := range c.Commands() {
		walk(sub, f)
	}
}

// unknownSubcommand is the positional-argument check of a command that
// only groups others ("keyblob id"): any argument is a mistyped
// subcommand, a usage error with cobra's suggestions.
func unknownSubcommand(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
	if s := suggestions(c, args[0]); len(s) > 0 {
		msg += fmt.Sprintf("; did you mean %s?", strings.Join(s, " or "))
	}
	return usagef("%s (see '%s --help')", msg, c.CommandPath())
}

// suggestions are the subcommands of c closest to what was typed: those
// within edit distance 2, or of which it is a prefix, or whose letters it
// swaps ("nwe" for new); of those, the closest ones only. A word that is
// the name of one of c's flags ("keyblob version") suggests that flag
// alone: it is what was meant, not a command a letter or two away.
func suggestions(c *cobra.Command, typed string) []string {
	if f := c.Flags().Lookup(typed); f != nil && !f.Hidden && len(typed) > 1 {
		return []string{"--" + typed}
	}
	var best []string
	bestDist := 3
	for _, sub := range c.Commands() {
		name := sub.Name()
		if !sub.IsAvailableCommand() {
			continue
		}
		d := editDistance(typed, name)
		if strings.HasPrefix(name, typed) || sameLetters(name, typed) {
			d = min(d, 1)
		}
		switch {
		case d < bestDist:
			best, bestDist = []string{name}, d
		case d == bestDist:
			best = append(best, name)
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// sameLetters reports whether a and b are anagrams.
func sameLetters(a, b string) bool {
	x, y := []byte(a), []byte(b)
	slices.Sort(x)
	slices.Sort(y)
	return string(x) == string(y)
}

// helpTopic is "keyblob help COMMAND...": an unknown topic is a mistyped
// command, a usage error like the command itself would give.
func helpTopic(c *cobra.Command, args []string) error {
	cmd, rest, err := c.Root().Find(args)
	switch {
	case err != nil:
		return unknownSubcommand(c.Root(), args)
	case len(rest) > 0:
		return unknownSubcommand(cmd, rest)
	}
	return cmd.Help()
}

// checkedRun runs the checks every command shares before run.
func checkedRun(run func(*cobra.Command, []string) error) func(*cobra.Command, []string) error {
	return func(c *cobra.Command, args []string) error {
		if err := checkNeeds(c); err != nil {
			return err
		}
		return run(c, args)
	}
}

// requireWith says that flag name of c means nothing unless one of the
// flags in with is given too; checkNeeds refuses it alone.
func requireWith(c *cobra.Command, name string, with ...string) {
	if err := c.Flags().SetAnnotation(name, needsAnnotation, with); err != nil {
		panic(err) // a programming error: no such flag
	}
}

// checkNeeds refuses a flag given without any of the flags it needs.
func checkNeeds(c *cobra.Command) error {
	var err error
	c.Flags().Visit(func(f *pflag.Flag) {
		with := f.Annotations[needsAnnotation]
		if err != nil || len(with) == 0 || anyChanged(c, with) {
			return
		}
		names := make([]string, len(with))
		for i, w := range with {
			names[i] = flagName(c, w)
		}
		err = usagef("%s means nothing without %s (see '%s --help')", flagName(c, f.Name), strings.Join(names, " or "), c.CommandPath())
	})
	return err
}

// anyChanged reports whether one of the named flags was given with a
// value other than "-" (which means stdout or stdin, not a file).
func anyChanged(c *cobra.Command, names []string) bool {
	for _, n := range names {
		if f := c.Flags().Lookup(n); f != nil && f.Changed && f.Value.String() != "-" {
			return true
		}
	}
	return false
}

// onceFlags makes every single-value flag of fs refuse a second value:
// "-r bob -r carol" on a flag that keeps one value would silently drop
// bob. Lists (repeatable flags) and booleans are left as they are.
func onceFlags(fs *pflag.FlagSet) {
	fs.VisitAll(func(f *pflag.Flag) {
		if singleValue(f) {
			f.Value = &onceValue{Value: f.Value}
		}
	})
}

// singleValue reports whether f keeps one value that a second use would
// replace.
func singleValue(f *pflag.Flag) bool {
	if _, ok := f.Value.(*onceValue); ok || f.NoOptDefVal != "" {
		return false // already wrapped, or a boolean
	}
	t := f.Value.Type()
	return !strings.Contains(t, "Slice") && !strings.Contains(t, "Array") && t != "count"
}

// onceValue is a flag value that may be set once.
type onceValue struct {
	pflag.Value
	set   bool
	first string // the value given first
}

// Set sets the value, or refuses a second, different one. The same value
// again is harmless, and cobra's completion parses a command line twice.
func (o *onceValue) Set(s string) error {
	if o.set && s != o.first {
		return fmt.Errorf("given twice (first %q); it takes one value", o.first)
	}
	o.set, o.first = true, s
	return o.Value.Set(s)
}

// claimStdin records that what reads standard input, and refuses a second
// reader: "seal -R - < team.txt" would otherwise seal an empty message.
func (e *env) claimStdin(what string) error {
	if e.stdinUser != "" {
		return usagef("standard input is used twice, by the %s and by the %s; give one of them a file", e.stdinUser, what)
	}
	e.stdinUser = what
	return nil
}
