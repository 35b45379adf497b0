package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/keystore"
)

// openStore opens the existing key store under $KEYBLOB_HOME.
func (e *env) openStore() (*keystore.Store, error) {
	return e.store(keystore.Open)
}

// createStore opens the key store under $KEYBLOB_HOME, making it if it
// does not exist.
func (e *env) createStore() (*keystore.Store, error) {
	return e.store(keystore.Create)
}

func (e *env) store(open func(string, *keystore.Options) (*keystore.Store, error)) (*keystore.Store, error) {
	home, err := keyblobHome()
	if err != nil {
		return nil, err
	}
	s, err := open(home, nil)
	return s, storeError(err)
}

// unlockStored asks for the passphrase of a stored identity and unlocks it.
func (e *env) unlockStored(s *keystore.Store, name string) (*keystore.Keyring, error) {
	pass, err := e.readPassphrase(fmt.Sprintf("identity %q", name), e.passFile, false)
	if err != nil {
		return nil, err
	}
	k, err := s.Unlock(name, pass)
	return k, storeError(err)
}

// isFile reports whether arg names an existing file, device, directory or
// symbolic link (even a dangling one: the name is taken either way).
func isFile(arg string) bool {
	_, err := os.Lstat(arg)
	return err == nil || !errors.Is(err, fs.ErrNotExist)
}

// storedName reports whether arg would be looked up in the store: it is
// a valid entry name and no file of that name exists. Commands resolve
// arguments with resolveName, which also refuses a word naming both.
func storedName(arg string) bool {
	return !isStdio(arg) && !isFile(arg) && keystore.CheckName(arg) == nil
}

func newIDCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "id",
		Short: "Manage the identities of the key store",
		Long: `id manages named identities in the key store under $KEYBLOB_HOME. Each is
encrypted at rest under a passphrase (Argon2id), asked on the terminal or
read from --passphrase-file or $KEYBLOB_PASSPHRASE_FILE. Wherever a command
takes -i FILE (or -s, --sign), the name of a stored identity works too; a
word that names both a file and a store entry is refused (write ./NAME for
the file).`,
		Args: argsExactly(0),
	}
	c.AddCommand(newIDNewCmd(e), newIDListCmd(e), newIDShowCmd(e), newIDExportCmd(e),
		newIDImportCmd(e), newIDRmCmd(e), newIDRotateCmd(e))
	return c
}

func newIDNewCmd(e *env) *cobra.Command {
	var kind string
	c := &cobra.Command{
		Use:   "new NAME [-t KIND]",
		Short: "Make a new identity in the key store",
		Long: `new makes an identity of KIND (default hybrid) and stores it under NAME,
encrypted under a passphrase that is asked twice (or read from
--passphrase-file / $KEYBLOB_PASSPHRASE_FILE). It prints the recipient line
to give to others. An existing NAME is never replaced, and NAME may not be
the name of a contact: identities and contacts share one name space.`,
		Args: argsExactly(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := e.createStore()
			if err != nil {
				return err
			}
			pass, err := e.readPassphrase(fmt.Sprintf("the new identity %q", args[0]), e.passFile, true)
			if err != nil {
				return err
			}
			id, err := s.NewIdentity(args[0], kind, pass)
			if err != nil {
				return storeError(err)
			}
			fmt.Fprintln(e.stdout, id.Recipient())
			return nil
		},
	}
	kindFlag(c, &kind)
	return c
}

func newIDListCmd(e *env) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "list",
		Short: "List the stored identities (no passphrase needed)",
		Long: `list shows every stored identity: name, kind, fingerprint of the current
generation, number of generations, and when the current one was made. The
public parts are read without the passphrase.`,
		Args: argsExactly(0),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := e.openStore()
			if err != nil {
				return err
			}
			ids, err := s.Identities()
			if err != nil {
				return storeError(err)
			}
			t := &table{columns: []string{"name", "kind", "fingerprint", "generations", "created"}}
			for _, info := range ids {
				cur := info.Current()
				t.add(info.Name, cur.Recipient.Kind(), cur.Recipient.Fingerprint(), len(info.Generations), cur.Created)
			}
			return t.write(e.stdout, asJSON)
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func newIDShowCmd(e *env) *cobra.Command {
	var asPEM bool
	c := &cobra.Command{
		Use:   "show NAME [--pem]",
		Short: "Print the recipient line of a stored identity (no passphrase needed)",
		Long: `show prints the recipient line of the current generation of a stored
identity, or with --pem its public keys as SubjectPublicKeyInfo PEM. No
passphrase is needed.`,
		Args: argsExactly(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := e.openStore()
			if err != nil {
				return err
			}
			info, err := s.Identity(args[0])
			if err != nil {
				return storeError(err)
			}
			return e.printRecipient(info.Current().Recipient, asPEM)
		},
	}
	c.Flags().BoolVar(&asPEM, "pem", false, "print SubjectPublicKeyInfo PEM instead of the recipient line")
	return c
}

// printRecipient prints a recipient line, or its public keys as PEM.
func (e *env) printRecipient(r *keyblob.Recipient, asPEM bool) error {
	if !asPEM {
		_, err := fmt.Fprintln(e.stdout, r)
		return err
	}
	data, err := r.MarshalPEM()
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(data)
	return err
}

func newIDExportCmd(e *env) *cobra.Command {
	var out string
	var force bool
	c := &cobra.Command{
		Use:   "export NAME [-o FILE]",
		Short: "Write the current generation of a stored identity as an unencrypted identity file",
		Long: `export writes the private keys of the current generation of a stored
identity as a plain identity file (mode 0600, never replacing a file unless
--force), for another machine or a backup. Anyone who reads that file has
the identity: keep it safe, or import it into another store.`,
		Args: argsExactly(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := e.openStore()
			if err != nil {
				return err
			}
			k, err := e.unlockStored(s, args[0])
			if err != nil {
				return err
			}
			data, err := k.Current().MarshalPEM()
			if err != nil {
				return err
			}
			return e.writeOutput(out, data, outputOptions{mode: modeSecret, key: true, replace: force})
		},
	}
	outputFlag(c, &out, &force, "write to `FILE` (mode 0600) instead of stdout")
	return c
}

func newIDImportCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "import NAME FILE",
		Short: "Store an identity file (keyblob keygen or openssl genpkey) under NAME, encrypted",
		Long: `import stores the identity in FILE (made by 'keyblob keygen' or an
openssl PKCS#8 key) under NAME, encrypted under a passphrase asked twice.
It prints the recipient line. An existing NAME (identity or contact) is
never replaced.`,
		Args: argsExactly(2),
		RunE: func(c *cobra.Command, args []string) error {
			id, err := e.readIdentityFile(args[1])
			if err != nil {
				return err
			}
			s, err := e.createStore()
			if err != nil {
				return err
			}
			pass, err := e.readPassphrase(fmt.Sprintf("the imported identity %q", args[0]), e.passFile, true)
			if err != nil {
				return err
			}
			if err := s.ImportIdentity(args[0], id, pass); err != nil {
				return storeError(err)
			}
			fmt.Fprintln(e.stdout, id.Recipient())
			return nil
		},
	}
}

func newIDRmCmd(e *env) *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:   "rm NAME",
		Short: "Remove a stored identity (refused while stored keys depend on it)",
		Long: `rm deletes a stored identity. While stored keys are wrapped to it, rm
refuses, because they could never be opened again; --force removes it
anyway.`,
		Args: argsExactly(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := e.openStore()
			if err != nil {
				return err
			}
			err = s.RemoveIdentity(args[0], &keystore.RemoveOptions{Force: force})
			if err != nil && !errors.Is(err, keystore.ErrNotFound) && !force {
				return withHint(err, "re-home those keys first ('key get', then 'key put -i OTHER'), or --force to lose them")
			}
			return storeError(err)
		},
	}
	c.Flags().BoolVar(&force, "force", false, "remove even if stored keys would be lost")
	return c
}

func newIDRotateCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "rotate NAME",
		Short: "Add a new generation to a stored identity and re-wrap its stored keys to it",
		Long: `rotate makes a new identity of the same kind under NAME. The old
generations are kept, so data sealed to them still opens with -i NAME;
every stored key wrapped to them is re-wrapped to the new exchange key and
re-signed. It prints the new recipient line, to give to others.`,
		Args: argsExactly(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := e.openStore()
			if err != nil {
				return err
			}
			pass, err := e.readPassphrase(fmt.Sprintf("identity %q", args[0]), e.passFile, false)
			if err != nil {
				return err
			}
			id, keys, err := s.Rotate(args[0], pass)
			if err != nil {
				return storeError(err)
			}
			fmt.Fprintln(e.stdout, id.Recipient())
			fmt.Fprintf(e.stderr, "keyblob: re-wrapped %d stored key(s) to the new generation\n", len(keys))
			return nil
		},
	}
}

func newContactCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "contact",
		Short: "Manage named recipients",
		Long: `contact keeps named recipients in the key store. Wherever a command takes
-r RECIPIENT (or --verify, --from), a contact's name works too. Contacts
are not encrypted or signed: they are as trustworthy as the disk.`,
		Args: argsExactly(0),
	}
	var force bool
	add := &cobra.Command{
		Use:   "add NAME RECIPIENT",
		Short: "Store a recipient (line, file, or PEM public key file) under NAME",
		Long: `add stores RECIPIENT (a recipient line, a file holding one, or a PEM
public key file) as the contact NAME, so that -r NAME, --verify NAME and
--from NAME work. An existing contact is replaced only with --force; the
name of a stored identity is never taken, even with --force.`,
		Args: argsExactly(2),
		RunE: func(c *cobra.Command, args []string) error {
			r, err := e.loadRecipient(args[1])
			if err != nil {
				return err
			}
			s, err := e.createStore()
			if err != nil {
				return err
			}
			return storeError(s.AddContact(args[0], r, &keystore.ContactOptions{Replace: force}))
		},
	}
	add.Flags().BoolVar(&force, "force", false, "replace an existing contact")
	c.AddCommand(add, newContactListCmd(e), &cobra.Command{
		Use:   "rm NAME",
		Short: "Remove a contact",
		Long:  `rm deletes the contact NAME.`,
		Args:  argsExactly(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := e.openStore()
			if err != nil {
				return err
			}
			return storeError(s.RemoveContact(args[0]))
		},
	})
	return c
}

func newContactListCmd(e *env) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "list",
		Short: "List contacts",
		Long:  `list shows every contact: name, kind, fingerprint and recipient line.`,
		Args:  argsExactly(0),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := e.openStore()
			if err != nil {
				return err
			}
			contacts, err := s.Contacts()
			if err != nil {
				return storeError(err)
			}
			t := &table{columns: []string{"name", "kind", "fingerprint", "recipient"}}
			for _, ct := range contacts {
				t.add(ct.Name, ct.Recipient.Kind(), ct.Recipient.Fingerprint(), ct.Recipient.String())
			}
			return t.write(e.stdout, asJSON)
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}
