package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/keyblob/keyblob/keystore"
)

func newKeyCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "key",
		Short: "Store session keys as signed key blobs (CryptoAPI's Storing Session Keys)",
		Long: `key stores named session keys in the key store, each exported as a key
blob wrapped to one of your stored identities and signed by it. 'key get'
verifies the signature before it unwraps, so a blob changed on disk, or one
that someone made for your public key and swapped in, is refused.`,
		Args: argsExactly(0),
	}
	c.AddCommand(newKeyPutCmd(e), newKeyGetCmd(e), newKeyListCmd(e), newKeyRmCmd(e))
	return c
}

func newKeyPutCmd(e *env) *cobra.Command {
	var keyFile, idName, desc, escrow string
	var force bool
	c := &cobra.Command{
		Use:   "put NAME -k SESSIONKEY [-i IDENTITY] [--description TEXT] [--escrow AUTHORITY]",
		Short: "Store a session key, wrapped to your identity and signed by it",
		Long: `put stores the session key in SESSIONKEY under NAME, as CryptoAPI's
"Storing Session Keys" describes: it is exported as a key blob wrapped
to the exchange key of the stored identity IDENTITY (the only one, if
there is one) and signed by its signature key. The identity's passphrase
is needed to sign. An existing NAME is replaced
only with --force.

--escrow AUTHORITY (a name from 'keyblob authority add') also deposits the
key with that backup authority, owned and signed by the identity (which
must be enrolled), before it is stored, and prints its serial.`,
		Args: argsExactly(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := required(c, "key"); err != nil {
				return err
			}
			key, err := e.loadSessionKey(keyFile)
			if err != nil {
				return err
			}
			s, err := e.openStore()
			if err != nil {
				return err
			}
			if idName, err = defaultIdentity(s, idName); err != nil {
				return err
			}
			k, err := e.unlockStored(s, idName)
			if err != nil {
				return err
			}
			if escrow != "" {
				if err := e.escrowKey(c.Context(), escrow, k.Current(), key, keyDescription(args[0], desc)); err != nil {
					return err
				}
			}
			if err := s.PutKey(args[0], key, k, &keystore.KeyOptions{Description: desc, Replace: force}); err != nil {
				return storeError(err)
			}
			if escrow != "" {
				fmt.Fprintln(e.stdout, key.Serial())
			}
			return nil
		},
	}
	c.Flags().StringVarP(&keyFile, "key", "k", "", "session key `FILE`")
	c.Flags().StringVarP(&idName, "identity", "i", "", "stored `IDENTITY` to wrap to and sign with (default: the only one)")
	c.Flags().StringVar(&desc, "description", "", "description stored in the blob (`TEXT`)")
	c.Flags().BoolVar(&force, "force", false, "replace a stored key of that name")
	c.Flags().StringVar(&escrow, "escrow", "", "also deposit the key with the backup `AUTHORITY`")
	return c
}

// keyDescription is the description a stored key is deposited with.
func keyDescription(name, desc string) string {
	if desc != "" {
		return desc
	}
	return "stored key " + name
}

// defaultIdentity returns name, or the only stored identity if name is "".
func defaultIdentity(s *keystore.Store, name string) (string, error) {
	if name != "" {
		return name, nil
	}
	ids, err := s.Identities()
	if err != nil {
		return "", storeError(err)
	}
	switch len(ids) {
	case 0:
		return "", withHint(errors.New("no identity in the key store"), "'keyblob id new NAME' makes one")
	case 1:
		return ids[0].Name, nil
	}
	return "", usagef("the key store has %d identities: choose one with -i NAME ('keyblob id list')", len(ids))
}

func newKeyGetCmd(e *env) *cobra.Command {
	var out string
	var force bool
	c := &cobra.Command{
		Use:   "get NAME [-o FILE]",
		Short: "Verify a stored key's signature, then unwrap it to a session key file",
		Long: `get reads the stored key NAME, verifies that its blob is signed by the
identity it is wrapped to, and only then unwraps it with that identity
(asking its passphrase), writing the session key to FILE (mode 0600) or
stdout. A blob changed on disk, or replaced by one someone made for your
public key, is refused with exit status 1 and nothing is written.`,
		Args: argsExactly(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := e.openStore()
			if err != nil {
				return err
			}
			key, err := s.GetKey(args[0], func(owner string) (*keystore.Keyring, error) {
				return e.unlockStored(s, owner)
			})
			if err != nil {
				return storeError(err)
			}
			return e.writeOutput(out, key.MarshalPEM(), outputOptions{mode: modeSecret, key: true, replace: force})
		},
	}
	outputFlag(c, &out, &force, "write the session key to `FILE` (mode 0600) instead of stdout")
	return c
}

func newKeyListCmd(e *env) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "list",
		Short: "List stored keys: name, serial, algorithm, created, description, identity",
		Long: `list shows every stored key from its blob, without any passphrase: name,
serial, algorithm, creation time, description, and the stored identity it
is wrapped to. Nothing is verified: 'key get' verifies. With no store, or
no stored key, it prints nothing (--json: []).`,
		Args: argsExactly(0),
		RunE: func(c *cobra.Command, args []string) error {
			keys, err := e.storedKeys()
			if err != nil {
				return err
			}
			t := &table{columns: []string{"name", "serial", "algorithm", "created", "description", "identity"}}
			for _, k := range keys {
				owner := k.Owner
				if owner == "" {
					owner = fmt.Sprintf("none (wrapped to %s)", k.Blob.Recipient())
				}
				t.add(k.Name, k.Serial, k.Alg, k.Created, k.Description, owner)
			}
			return e.writeTable(t, asJSON)
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func newKeyRmCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "rm NAME",
		Short: "Remove a stored key",
		Long: `rm deletes the stored key NAME. The session key is lost unless you have
it elsewhere.`,
		Args: argsExactly(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := e.openStore()
			if err != nil {
				return err
			}
			return storeError(s.RemoveKey(args[0]))
		},
	}
}

// storedKeys lists the stored keys; none without a store.
func (e *env) storedKeys() ([]*keystore.KeyInfo, error) {
	s, err := e.listStore()
	if s == nil {
		return nil, err
	}
	keys, err := s.Keys()
	return keys, storeError(err)
}
