package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/keyblob/keyblob/internal/inspect"
)

// inspectFlags are the flags of inspect.
type inspectFlags struct {
	json bool
}

func newInspectCmd(e *env) *cobra.Command {
	var f inspectFlags
	c := &cobra.Command{
		Use:   "inspect [--json] [FILE]",
		Short: "Say what a keyblob file is, without any passphrase or secret key",
		Long: `inspect reads FILE (stdin if not given or -) and says what it is, without
any passphrase or secret key: an identity or a recipient (kind, algorithms,
fingerprints), a session key (its serial, never the key), a key blob, an
encrypted file, a sealed message, one of the key store's files (a stored
identity NAME.id, read without unlocking it; its generation record
NAME.gens; a contact NAME.rcpt, which is a recipient line; a stored key
NAME.blob, which is a key blob), the FILE.params that 'session derive
-o FILE' writes, or an X.509 certificate (chain) or certificate request,
PEM (subject, names, issuer, validity, whether it is a CA, and the
recipient its keyblob extension carries). inspect uses no key: who signed
a blob or a message, the public part of a stored identity, and who issued
a certificate, are checked by the commands that use them ('import
--verify', 'open --from', unlocking the identity, --server-ca).

--json prints one JSON object, for programs. Its members are always
present, in this order, null when the file has no such value:
` + inspect.SchemaHelp(),
		Args: argsAtMost(1),
		RunE: func(c *cobra.Command, args []string) error {
			return e.inspect(&f, firstArg(args))
		},
	}
	c.Flags().BoolVar(&f.json, "json", false, "print one JSON object (see the fields above)")
	return c
}

// inspect describes the file name ("" or "-" for stdin) on stdout.
func (e *env) inspect(f *inspectFlags, name string) error {
	rep, err := e.inspectFile(name)
	if err != nil {
		return inspectError(err)
	}
	if f.json {
		return rep.WriteJSON(e.stdout)
	}
	return rep.WriteText(e.stdout)
}

// inspectFile reads and describes the file name, telling the library its
// size if it is a regular file.
func (e *env) inspectFile(name string) (*inspect.Report, error) {
	in, err := e.openInput(name)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	size := int64(-1)
	if _, _, n, ok := regularInput(in); ok {
		size = n
	}
	return inspect.Inspect(in, size)
}

// inspectError adds the advice for what inspect refuses: the hint that
// depends on an identity file's text (identityHint), or the table's.
func inspectError(err error) error {
	var id *inspect.IdentityError
	if errors.As(err, &id) {
		return withHint(err, "%s", identityHint(id.Data))
	}
	return err
}
