package main

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/password"
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

Kinds: ` + strings.Join(keyblob.Kinds(), ", ") + ` (default hybrid: ML-KEM-768 +
X25519 to receive, Ed25519 to sign).`,
		Args: argsExactly(0),
		RunE: func(c *cobra.Command, args []string) error {
			id, err := keyblob.GenerateIdentity(kind)
			if err != nil {
				return withHint(err, "kinds are %s", strings.Join(keyblob.Kinds(), ", "))
			}
			data, err := id.MarshalPEM()
			if err != nil {
				return err
			}
			opts := outputOptions{mode: modeSecret, key: true, replace: force}
			if err := e.writeOutput(out, data, opts); err != nil {
				return err
			}
			if !isStdio(out) {
				fmt.Fprintln(e.stdout, id.Recipient())
			}
			return nil
		},
	}
	kindFlag(c, &kind)
	outputFlag(c, &out, &force, "write the identity to `FILE` instead of stdout")
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
			if storedName(in) {
				r, err := e.storedIdentityRecipient(in)
				if err != nil {
					return err
				}
				return e.printRecipient(r, asPEM)
			}
			id, err := e.loadIdentityFile(in)
			if err != nil {
				return err
			}
			return e.printRecipient(id.Recipient(), asPEM)
		},
	}
	c.Flags().StringVarP(&in, "identity", "i", "-", "identity `FILE` (- for stdin)")
	c.Flags().BoolVar(&asPEM, "pem", false, "print SubjectPublicKeyInfo PEM instead of the recipient line")
	return c
}

func newSessionCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:                   "session",
		Short:                 "Make session keys",
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
			return e.writeOutput(out, k.MarshalPEM(), outputOptions{mode: modeSecret, key: true, replace: force})
		},
	}
	outputFlag(newCmd, &out, &force, "write the session key to `FILE` instead of stdout")
	c.AddCommand(newCmd, newSessionDeriveCmd(e))
	return c
}

func newSessionDeriveCmd(e *env) *cobra.Command {
	var saltHex, paramsFile, out string
	var force bool
	c := &cobra.Command{
		Use:   "derive [--salt HEX | --params FILE] [-o FILE]",
		Short: "Derive a session key from a passphrase (Argon2id)",
		Long: `session derive derives a session key from a passphrase (CryptDeriveKey):
the same passphrase, salt and parameters always give the same key, with the
same serial, so the key can be derived again when needed instead of stored.

Without --salt or --params a new random salt is made (and the passphrase is
asked twice). With -o FILE the parameters, which are not secret, are also
written to FILE.params; '--params FILE.params' derives the key again.
--params also takes a derived session key file. Parameters beyond the
limits (1 GiB of memory, 16 passes, 16 lanes) are refused before any work.`,
		Args: argsExactly(0),
		RunE: func(c *cobra.Command, args []string) error {
			if saltHex != "" && paramsFile != "" {
				return usagef("give --salt or --params, not both")
			}
			params, fresh, err := e.deriveParams(saltHex, paramsFile)
			if err != nil {
				return err
			}
			pass, err := e.readPassphrase("the derived session key", e.passFile, fresh)
			if err != nil {
				return err
			}
			key, err := keyblob.DeriveSessionKey(pass, params)
			if err != nil {
				return err
			}
			opts := outputOptions{mode: modeSecret, key: true, replace: force}
			if err := e.writeOutput(out, key.MarshalPEM(), opts); err != nil || isStdio(out) {
				return err
			}
			text := []byte("# keyblob session derive parameters (not secret)\n" + params.String() + "\n")
			return e.writeOutput(out+".params", text, outputOptions{mode: modePublic, key: true, replace: force})
		},
	}
	c.Flags().StringVar(&saltHex, "salt", "", "derive with this salt (32 hex digits) and the default costs")
	c.Flags().StringVar(&paramsFile, "params", "", "derive with the parameters in `FILE` (a .params file or a derived key)")
	outputFlag(c, &out, &force, "write the session key to `FILE` (mode 0600) and its parameters to FILE.params")
	return c
}

// deriveParams chooses the Argon2id parameters of session derive, and
// reports whether they are new (so the passphrase must be confirmed).
func (e *env) deriveParams(saltHex, paramsFile string) (password.Params, bool, error) {
	switch {
	case saltHex != "":
		p := password.Defaults()
		salt, err := hex.DecodeString(saltHex)
		if err != nil || len(salt) != password.SaltSize {
			return p, false, usagef("--salt wants %d hex digits", 2*password.SaltSize)
		}
		copy(p.Salt[:], salt)
		return p, false, nil
	case paramsFile != "":
		p, err := e.readParams(paramsFile)
		return p, false, err
	}
	return password.New(), true, nil
}

// readParams reads a .params file, or the parameters of a derived key.
func (e *env) readParams(name string) (password.Params, error) {
	data, err := e.readSmall(name, "parameters")
	if err != nil {
		return password.Params{}, err
	}
	if k, err := keyblob.ParseSessionKey(data); err == nil {
		if p, ok := k.Params(); ok {
			return p, nil
		}
		return password.Params{}, fmt.Errorf("%s is a random session key, not a derived one", name)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" && line[0] != '#' {
			p, err := password.ParseText(line)
			return p, withHint(err, "a parameters file is written by 'keyblob session derive -o FILE' as FILE.params")
		}
	}
	return password.Params{}, fmt.Errorf("%s holds no parameters", name)
}

// kindFlag adds -t/--type KIND to c: an identity kind, checked as it is
// parsed, so that an unknown one is a usage error like any bad flag.
func kindFlag(c *cobra.Command, kind *string) {
	*kind = keyblob.KindHybrid
	c.Flags().VarP((*kindValue)(kind), "type", "t", "identity kind: "+strings.Join(keyblob.Kinds(), "|"))
}

// kindValue is the value of -t: one of keyblob.Kinds.
type kindValue string

func (k *kindValue) String() string { return string(*k) }
func (k *kindValue) Type() string   { return "KIND" }

// Set accepts a kind keyblob can make.
func (k *kindValue) Set(s string) error {
	if !slices.Contains(keyblob.Kinds(), s) {
		return fmt.Errorf("unknown identity kind (want one of %s)", strings.Join(keyblob.Kinds(), ", "))
	}
	*k = kindValue(s)
	return nil
}
