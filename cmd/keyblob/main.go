// Command keyblob moves symmetric session keys safely: it makes identities
// and session keys, encrypts with session keys, and exports them as key
// blobs wrapped to a recipient (and signed), after CryptoAPI's key blobs.
//
// Run `keyblob help` for the commands. Errors go to stderr as
// "keyblob: error: ..." with an optional "keyblob: hint: ..." line; the exit
// status is 1 for errors and 2 for usage errors.
package main

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func main() {
	os.Exit(runEnv(&env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}, os.Args[1:]))
}

// env is what every command reads and writes instead of the process's
// globals, so that tests can run commands in-process.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// passFile is the --passphrase-file flag, shared by every command.
	passFile string
	// stdinUser is what reads standard input, if anything does yet
	// (claimStdin).
	stdinUser string
	// getenv reads the environment (os.Getenv in main); nil reads an
	// empty one. Commands read variables through e.env only.
	getenv func(string) string
	// fileOutput is set once a command's output is a new file (written
	// atomically), not a stream: it chooses the disk-full hint.
	fileOutput bool
	// clock is the wall clock of the times commands write and check (a
	// sealed message's creation and expiry, open's expiry, age and replay
	// window, a key blob's creation time); nil means time.Now. Only
	// tests set it: the shipped binary always reads the system clock.
	clock func() time.Time
}

// now returns the current time by e's clock.
func (e *env) now() time.Time {
	if e.clock == nil {
		return time.Now()
	}
	return e.clock()
}

// env returns the value of the environment variable key, "" if unset.
func (e *env) env(key string) string {
	if e.getenv == nil {
		return ""
	}
	return e.getenv(key)
}

// run executes the command line args with the process's environment and
// returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runEnv(&env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}, args)
}

// runEnv executes the command line args in e and returns the exit status.
func runEnv(e *env, args []string) int {
	handleSignals() // here, not in main: the tests' keyblob command calls run
	root := newRootCmd(e)
	root.SetArgs(args)
	c, err := root.ExecuteContextC(context.Background())
	if err == nil {
		return 0
	}
	var s exitStatus
	if errors.As(err, &s) {
		return int(s)
	}
	name := ""
	if c != nil && c != root {
		name = cmdName(c)
	}
	return reportError(e.stderr, name, diskFull(err, e.fileOutput))
}

func newRootCmd(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "keyblob",
		Short: "Move symmetric session keys safely",
		Long: `keyblob makes identities and session keys, encrypts with session keys,
and exports session keys as key blobs wrapped to a recipient's public key,
optionally signed, so they can be sent or stored without being swapped.`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usagef("%v (see '%s --help')", err, c.CommandPath())
	})
	root.PersistentFlags().StringVar(&e.passFile, "passphrase-file", "",
		"read the key store (and session derive) passphrase from the first line of `FILE` (or set "+passphraseEnv+"; default: ask on the terminal); never used for sealed messages")
	root.AddCommand(newKeygenCmd(e), newPubkeyCmd(e), newSessionCmd(e),
		newEncryptCmd(e), newDecryptCmd(e), newExportCmd(e), newImportCmd(e),
		newInspectCmd(e), newSealCmd(e), newOpenCmd(e),
		newIDCmd(e), newContactCmd(e), newKeyCmd(e), newChannelCmd(e), newCertCmd(e), newCACmd(e), newAuthorityCmd(e), newEscrowCmd(e), newManCmd(e))
	setVersion(root)
	registerCompletions(root, e)
	conventions(root)
	return root
}

// argsAtMost is cobra.MaximumNArgs with a usage error.
func argsAtMost(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) > n {
			return usagef("%s takes at most %d file argument(s), got %d (see '%s --help')", cmdName(c), n, len(args), c.CommandPath())
		}
		return nil
	}
}

// argsExactly is cobra.ExactArgs with a usage error.
func argsExactly(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s takes %d argument(s), got %d (see '%s --help')", cmdName(c), n, len(args), c.CommandPath())
		}
		return nil
	}
}

// required checks that a flag was given, as a usage error.
func required(c *cobra.Command, names ...string) error {
	for _, name := range names {
		if !c.Flags().Changed(name) {
			return usagef("%s needs %s (see '%s --help')", cmdName(c), flagName(c, name), c.CommandPath())
		}
	}
	return nil
}

// cmdName names a command in messages as the user types it after
// "keyblob": "encrypt", "session new". The advice "see 'keyblob X --help'"
// must name the full path, or it points at a command that does not exist.
func cmdName(c *cobra.Command) string {
	if !c.HasParent() {
		return c.Name()
	}
	return strings.TrimPrefix(c.CommandPath(), c.Root().Name()+" ")
}

// flagName spells a flag as the user may type it: "-k/--key" or "--sign".
func flagName(c *cobra.Command, name string) string {
	if f := c.Flags().Lookup(name); f != nil && f.Shorthand != "" {
		return "-" + f.Shorthand + "/--" + name
	}
	return "--" + name
}
