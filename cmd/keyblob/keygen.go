package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyblob/keyblob"
)

func newKeygenCmd(e *env) *cobra.Command {
	var kind, out string
	var force bool
	c := &cobra.Command{
		Use:   "keygen [-t KIND] [-o FILE]",
		Short: "Make a new identity (an exchange key pair and a signature key pair)",
		Long: `keygen makes a new identity. With -o it writes the identity to FILE (mode
0600, never replacing an existing file unless --force) and prints the
recipient line, the public half to give to others, on stdout. Without -o it
prints the identity itself.

Kinds: ` + strings.Join(keyblob.Kinds, ", ") + ` (default hybrid: ML-KEM-768 +
X25519 to receive, Ed25519 to sign).`,
		Args: argsExactly(0),
		RunE: func(c *cobra.Command, args []string) error {
			id, err := keyblob.GenerateIdentity(kind)
			if err != nil {
				return withHint(err, "kinds are %s", strings.Join(keyblob.Kinds, ", "))
			}
			data, err := id.MarshalPEM()
			if err != nil {
				return err
			}
			opts := outputOptions{mode: modeSecret, noClobber: !force}
			if err := e.writeOutput(out, data, opts); err != nil {
				return err
			}
			if !isStdio(out) {
				fmt.Fprintln(e.stdout, id.Recipient())
			}
			return nil
		},
	}
	c.Flags().StringVarP(&kind, "type", "t", keyblob.KindHybrid, "identity kind: "+strings.Join(keyblob.Kinds, "|"))
	c.Flags().StringVarP(&out, "output", "o", "", "write the identity to `FILE` instead of stdout")
	c.Flags().BoolVar(&force, "force", false, "replace an existing output file")
	return c
}

func newPubkeyCmd(e *env) *cobra.Command {
	var in string
	var asPEM bool
	c := &cobra.Command{
		Use:   "pubkey [-i FILE] [--pem]",
		Short: "Print the recipient (public half) of an identity",
		Long: `pubkey prints the recipient line of the identity in FILE (stdin if not
given): the public half to pass to -r or --verify. With --pem it prints the
public keys as standard SubjectPublicKeyInfo PEM instead, which
'openssl pkey -pubin' reads.`,
		Args: argsExactly(0),
		RunE: func(c *cobra.Command, args []string) error {
			id, err := e.loadIdentity(in)
			if err != nil {
				return err
			}
			if !asPEM {
				_, err := fmt.Fprintln(e.stdout, id.Recipient())
				return err
			}
			data, err := id.Recipient().MarshalPEM()
			if err != nil {
				return err
			}
			_, err = e.stdout.Write(data)
			return err
		},
	}
	c.Flags().StringVarP(&in, "identity", "i", "-", "identity `FILE` (- for stdin)")
	c.Flags().BoolVar(&asPEM, "pem", false, "print SubjectPublicKeyInfo PEM instead of the recipient line")
	return c
}

func newSessionCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "session",
		Short: "Make session keys",
		// A command group without RunE makes cobra print the help and
		// exit 0 for any argument, so 'keyblob session frob' would seem
		// to succeed. An unknown subcommand is a usage error.
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q for %q (see '%s --help')", args[0], c.CommandPath(), c.CommandPath())
			}
			return nil
		},
		RunE:                  func(c *cobra.Command, args []string) error { return c.Help() },
		DisableFlagsInUseLine: true,
	}
	var out string
	var force bool
	newCmd := &cobra.Command{
		Use:   "new [-o FILE]",
		Short: "Make a new random session key (256-bit, with a random 128-bit serial)",
		Long: `session new makes a random AES-256 session key with a random serial and
writes it as a PEM file (mode 0600, never replacing an existing file unless
--force), or prints it if -o is not given.`,
		Args: argsExactly(0),
		RunE: func(c *cobra.Command, args []string) error {
			k := keyblob.NewSessionKey()
			return e.writeOutput(out, k.MarshalPEM(), outputOptions{mode: modeSecret, noClobber: !force})
		},
	}
	newCmd.Flags().StringVarP(&out, "output", "o", "", "write the session key to `FILE` instead of stdout")
	newCmd.Flags().BoolVar(&force, "force", false, "replace an existing output file")
	c.AddCommand(newCmd)
	return c
}
