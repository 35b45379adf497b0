package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/keyblob/keyblob"
)

func newExportCmd(e *env) *cobra.Command {
	var keyFile, to, signer, desc, out string
	var armor, force bool
	var certs recipientCAFlags
	c := &cobra.Command{
		Use:   "export -k SESSIONKEY -r RECIPIENT [--ca CA [--crl FILE]...] [--sign IDENTITY] [--description TEXT] [-a] [-o BLOB]",
		Short: "Export a session key as a key blob wrapped to a recipient",
		Long: `export wraps the session key in SESSIONKEY to RECIPIENT's exchange key and
writes the key blob to BLOB (stdout if not given): binary, or PEM with -a.
RECIPIENT is a recipient line, a file holding one, or a PEM public key file,
or a certificate (chain) file checked with --ca CA (a CA certificate file
or a stored CA's name) and --crl: the key is wrapped to the recipient the
certificate certifies.
With --sign the blob is signed by IDENTITY, so that the receiver can check
with 'import --verify' that nobody swapped it.`,
		Args: argsExactly(0),
		RunE: func(c *cobra.Command, args []string) error {
			if err := required(c, "key", "recipient"); err != nil {
				return err
			}
			blob, err := e.exportBlob(keyFile, to, signer, desc, &certs)
			if err != nil {
				return err
			}
			data := blob.Marshal()
			if armor {
				data = blob.MarshalPEM()
			}
			return e.writeOutput(out, data, outputOptions{mode: modePublic, binary: !armor, replace: force})
		},
	}
	c.Flags().StringVarP(&keyFile, "key", "k", "", "session key `FILE`")
	c.Flags().StringVarP(&to, "recipient", "r", "", "`RECIPIENT` to wrap the key to")
	addRecipientCAFlags(c, &certs, "-r")
	c.Flags().StringVar(&signer, "sign", "", "sign the blob with the identity in `FILE`")
	c.Flags().StringVar(&desc, "description", "", "description stored in the blob (`TEXT`, at most 1024 bytes)")
	c.Flags().BoolVarP(&armor, "armor", "a", false, "write PEM instead of binary")
	outputFlag(c, &out, &force, "write the blob to `FILE` instead of stdout")
	return c
}

func (e *env) exportBlob(keyFile, to, signer, desc string, certs *recipientCAFlags) (*keyblob.KeyBlob, error) {
	key, err := e.loadSessionKey(keyFile)
	if err != nil {
		return nil, err
	}
	r, err := e.loadRecipientCert(to, certs)
	if err == nil {
		err = certs.done()
	}
	if err != nil {
		return nil, err
	}
	opts := &keyblob.ExportOptions{Description: desc, Time: e.now()}
	if signer != "" {
		if opts.Signer, err = e.loadIdentity(signer); err != nil {
			return nil, err
		}
	}
	return keyblob.Export(key, r, opts)
}

func newImportCmd(e *env) *cobra.Command {
	var idFile, verify, out string
	var force bool
	var certs recipientCAFlags
	c := &cobra.Command{
		Use:   "import -i IDENTITY [--verify SIGNER [--ca CA [--crl FILE]...]] [-o SESSIONKEY] [BLOB]",
		Short: "Import a session key from a key blob",
		Long: `import unwraps the session key in BLOB (binary or PEM; stdin if not
given or -) with
the exchange key of IDENTITY and writes it to SESSIONKEY (mode 0600, never
replacing an existing file unless --force), or prints it.

With --verify SIGNER (a recipient, as for export -r, or a certificate
checked with --ca and --crl), the blob must be
signed by SIGNER: an unsigned blob, or one signed by anyone else, is
refused before the private key is used. Use it whenever the blob came from
storage or a network someone else could write to: without it, anyone can
make a blob for your public key holding a session key they know.`,
		Args: argsAtMost(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := required(c, "identity"); err != nil {
				return err
			}
			key, err := e.importBlob(firstArg(args), idFile, verify, &certs)
			if err != nil {
				return err
			}
			return e.writeOutput(out, key.MarshalPEM(), outputOptions{mode: modeSecret, key: true, replace: force})
		},
	}
	c.Flags().StringVarP(&idFile, "identity", "i", "", "identity `FILE`")
	c.Flags().StringVar(&verify, "verify", "", "require a valid signature by `SIGNER`")
	addRecipientCAFlags(c, &certs, "--verify")
	outputFlag(c, &out, &force, "write the session key to `FILE` instead of stdout")
	return c
}

func (e *env) importBlob(blobFile, idFile, verify string, certs *recipientCAFlags) (*keyblob.SessionKey, error) {
	data, err := e.readSmall(blobFile, "key blob")
	if err != nil {
		return nil, err
	}
	blob, err := keyblob.ParseKeyBlob(data)
	if err != nil {
		return nil, wrongInput(inFile(blobFile, err), data, blobFile, "key blob")
	}
	ids, err := e.loadIdentities(idFile)
	if err != nil {
		return nil, err
	}
	id := ids[len(ids)-1]
	for _, gen := range ids {
		if gen.CanExchange() && gen.Recipient().ExchangeFingerprint().Equal(blob.Recipient()) {
			id = gen // an older generation of a rotated stored identity
		}
	}
	opts := &keyblob.ImportOptions{}
	if verify != "" {
		if opts.Verify, err = e.loadRecipientCert(verify, certs); err != nil {
			return nil, err
		}
	}
	if err := certs.done(); err != nil {
		return nil, err
	}
	key, err := keyblob.Import(blob, id, opts)
	if err == nil && opts.Verify == nil && blob.Signed() {
		fmt.Fprintf(e.stderr, "keyblob: signed by %s (valid signature; --verify SIGNER checks whose key it is)\n", e.signerName(blob.SignerKey()))
	}
	return key, importError(blobFile, err)
}
