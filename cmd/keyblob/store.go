package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"unicode"

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
	home, err := e.keyblobHome()
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
		Long: `list shows every stored identity: name, kind, the fingerprints of the
current generation's exchange and signing keys (named as contact list names
them), number of generations, and when the current one was made. The
public parts are read without the passphrase. With no store, or no
identity, it prints nothing (--json: []).

An identity whose file cannot be read (unreadable, not a stored identity,
moved, rolled back, or with a broken generation record) is listed as
"NAME  damaged: REASON" (--json: "damaged": REASON), and once everything
is printed, list exits with status 1 and names the damaged ones.`,
		Args: argsExactly(0),
		RunE: func(c *cobra.Command, args []string) error {
			entries, err := e.identityEntries()
			if err != nil {
				return err
			}
			t := newListing(asJSON, "name", "kind", "exchange_fingerprint", "signing_fingerprint", "generations", "created")
			for _, en := range entries {
				if en.Err != nil {
					t.damaged(en.Name, en.Err)
					continue
				}
				cur := en.Info.Current()
				r := cur.Recipient
				t.add(en.Name, r.Kind(), t.fingerprint(r.ExchangeFingerprint()), t.fingerprint(r.SigningFingerprint()), len(en.Info.Generations), cur.Created)
			}
			return e.writeListing(t, "stored identity", "stored identities", "'keyblob id rm --force NAME' removes a damaged identity; put back a good copy from a backup if you still need its keys")
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
	c.AddCommand(newContactAddCmd(e), newContactListCmd(e), newContactShowCmd(e), &cobra.Command{
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
		Short: "List contacts: name, kind and fingerprints",
		Long: `list shows every contact: name, kind, and the fingerprints of its exchange
and signature keys ("none" for a key it does not have; --json: null).
When a contact was added from a certificate, two more columns show the
certified name (its e-mail address) and when the certificate, or its CA's,
expires ("none" for contacts without a certificate).
'keyblob contact show NAME' prints a contact's recipient line. With no
store, or no contact, it prints nothing (--json: []). A contact whose file
cannot be read is listed as "NAME  damaged: REASON", and list then exits
with status 1.`,
		Args: argsExactly(0),
		RunE: func(c *cobra.Command, args []string) error {
			entries, err := e.contactEntries()
			if err != nil {
				return err
			}
			columns := []string{"name", "kind", "exchange_fingerprint", "signing_fingerprint"}
			certified := anyCertified(entries)
			if certified {
				columns = append(columns, "certified_name", "not_after")
			}
			t := newListing(asJSON, columns...)
			for _, en := range entries {
				if en.Err != nil {
					t.damaged(en.Name, en.Err)
					continue
				}
				r := en.Contact.Recipient
				row := []any{en.Name, r.Kind(), t.fingerprint(r.ExchangeFingerprint()), t.fingerprint(r.SigningFingerprint())}
				if certified {
					row = append(row, t.certification(en.Contact)...)
				}
				t.add(row...)
			}
			return e.writeListing(t, "contact", "contacts", "'keyblob contact add --force NAME RECIPIENT' replaces a damaged contact; 'keyblob contact rm NAME' removes it")
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func newContactShowCmd(e *env) *cobra.Command {
	var asPEM bool
	c := &cobra.Command{
		Use:   "show NAME [--pem]",
		Short: "Print the recipient line of a contact",
		Long: `show prints the recipient line of the contact NAME, or with --pem its
public keys as SubjectPublicKeyInfo PEM.`,
		Args: argsExactly(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := e.openStore()
			if err != nil {
				return err
			}
			ct, err := s.Contact(args[0])
			if err != nil {
				return storeError(err)
			}
			return e.printRecipient(ct.Recipient, asPEM)
		},
	}
	c.Flags().BoolVar(&asPEM, "pem", false, "print SubjectPublicKeyInfo PEM instead of the recipient line")
	return c
}

// listStore opens the store for a listing; with no store yet there is
// nothing to list, which is not an error: it returns nil and no error.
func (e *env) listStore() (*keystore.Store, error) {
	s, err := e.openStore()
	if errors.Is(err, keystore.ErrNoStore) {
		return nil, nil
	}
	return s, err
}

// identityEntries lists the stored identities; none without a store.
func (e *env) identityEntries() ([]keystore.IdentityEntry, error) {
	s, err := e.listStore()
	if s == nil {
		return nil, err
	}
	entries, err := s.IdentityEntries()
	return entries, storeError(err)
}

// contactEntries lists the contacts; none without a store.
func (e *env) contactEntries() ([]keystore.ContactEntry, error) {
	s, err := e.listStore()
	if s == nil {
		return nil, err
	}
	entries, err := s.ContactEntries()
	return entries, storeError(err)
}

// A listing is the table of a list command, with its damaged entries:
// in text a damaged entry is "NAME  damaged: REASON"; in JSON every row
// has a "damaged" field, null or the reason, and absent values are null.
type listing struct {
	table
	asJSON  bool
	broken  []string // the names of the damaged entries
	errs    []error  // and why
	columns int
}

func newListing(asJSON bool, columns ...string) *listing {
	l := &listing{asJSON: asJSON, columns: len(columns)}
	l.table.columns = columns
	if asJSON {
		l.table.columns = append(columns, "damaged")
	}
	return l
}

// add adds a good entry.
func (l *listing) add(values ...any) {
	if l.asJSON {
		values = append(values, nil)
	}
	l.table.add(values...)
}

// damaged adds an entry that cannot be read.
func (l *listing) damaged(name string, err error) {
	l.broken, l.errs = append(l.broken, name), append(l.errs, err)
	if !l.asJSON {
		l.table.add(name, damagedText(err.Error()))
		return
	}
	row := make([]any, l.columns+1)
	row[0], row[l.columns] = name, err.Error()
	l.table.add(row...)
}

// damagedText is "damaged: REASON" in a text listing. A reason holds
// quotes (names are quoted in errors), for which the table would quote
// the whole cell: it is printed as it is when every character of it is
// printable, and quoted only when it holds anything else (a terminal
// escape), through Format, which the table's Fprint uses.
type damagedText string

func (d damagedText) Format(f fmt.State, _ rune) {
	s := string(d)
	if strings.ContainsFunc(s, func(c rune) bool { return !unicode.IsPrint(c) }) {
		s = strconv.Quote(s)
	}
	io.WriteString(f, "damaged: "+s)
}

// fingerprint is a fingerprint column: "none" in text and null in JSON
// for a key that is absent.
func (l *listing) fingerprint(fp keyblob.Fingerprint) any {
	switch {
	case !fp.IsZero():
		return fp
	case l.asJSON:
		return nil
	}
	return "none"
}

// writeListing prints a listing (writeTable), then fails if entries were
// damaged; one and many name the entries. The error wraps the entries'
// errors, so that the hint table speaks for one it knows (a rolled-back
// identity); hint is the advice otherwise.
func (e *env) writeListing(l *listing, one, many, hint string) error {
	if err := e.writeTable(&l.table, l.asJSON); err != nil {
		return err
	}
	var msg string
	switch n := len(l.broken); {
	case n == 0:
		return nil
	case n == 1:
		msg = fmt.Sprintf("the %s %s is damaged (listed above)", one, l.broken[0])
	default:
		msg = fmt.Sprintf("%d %s are damaged (listed above): %s", n, many, strings.Join(l.broken, ", "))
	}
	return withFallbackHint(&damagedError{msg: msg, errs: l.errs}, "%s", hint)
}

// damagedError says that a listing found damaged entries; it wraps their
// errors without repeating them, since the listing shows them.
type damagedError struct {
	msg  string
	errs []error
}

func (d *damagedError) Error() string   { return d.msg }
func (d *damagedError) Unwrap() []error { return d.errs }

// writeTable prints what a list command lists: nothing at all for no
// entries (in JSON, []), as for no store.
func (e *env) writeTable(t *table, asJSON bool) error {
	if len(t.rows) == 0 && !asJSON {
		return nil
	}
	return t.write(e.stdout, asJSON)
}
