package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/keyblob/keyblob"
)

func newEncryptCmd(e *env) *cobra.Command {
	var keyFile, out string
	var armor, force bool
	c := &cobra.Command{
		Use:   "encrypt -k SESSIONKEY [-a] [-o OUT] [IN]",
		Short: "Encrypt a file with a session key",
		Long: `encrypt encrypts IN (stdin if not given or -) with the session key in
SESSIONKEY, in authenticated 64 KiB chunks, to OUT (stdout if not given).
With -a the output is armored as a "KEYBLOB ENCRYPTED FILE" PEM block, for
text channels; decrypt reads both forms. Binary output is never written to
a terminal.`,
		Args: argsAtMost(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := required(c, "key"); err != nil {
				return err
			}
			key, err := e.loadSessionKey(keyFile)
			if err != nil {
				return err
			}
			return e.encrypt(key, firstArg(args), outputTo{out, force}, armor)
		},
	}
	c.Flags().StringVarP(&keyFile, "key", "k", "", "session key `FILE`")
	c.Flags().BoolVarP(&armor, "armor", "a", false, "write PEM instead of binary")
	outputFlag(c, &out, &force, "write to `FILE` instead of stdout")
	return c
}

func (e *env) encrypt(key *keyblob.SessionKey, inName string, to outputTo, armor bool) error {
	in, err := e.openInput(inName)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := e.createOutput(to.name, outputOptions{mode: modePublic, binary: !armor, replace: to.force})
	if err != nil {
		return err
	}
	if err := encryptTo(out, in, key, armor); err != nil {
		out.Abort()
		return fmt.Errorf("encrypting: %w", err)
	}
	return out.Commit()
}

// encryptTo writes in encrypted with key to out, armored if armor is set:
// a regular input file is read at offsets, and a new output file written
// at offsets (see inputSource and outputSink); the armor is written in
// order.
func encryptTo(out *output, in io.Reader, key *keyblob.SessionKey, armor bool) error {
	dst := outputSink(out)
	var a *keyblob.ArmorWriter
	if armor {
		var err error
		if a, err = keyblob.NewEncryptedArmorWriter(out.target()); err != nil {
			return err
		}
		dst = keyblob.Sink{W: a}
	}
	src, _ := inputSource(in)
	if _, err := keyblob.EncryptFile(dst, src, key, nil); err != nil || a == nil {
		return err
	}
	return a.Close()
}

func newDecryptCmd(e *env) *cobra.Command {
	var keyFile, out string
	var force bool
	c := &cobra.Command{
		Use:   "decrypt -k SESSIONKEY [-o OUT] [IN]",
		Short: "Decrypt a file encrypted with a session key",
		Long: `decrypt decrypts IN (stdin if not given or -), binary or armored
(encrypt -a), with the session key in SESSIONKEY to OUT (stdout if not
given). Any change, truncation or extension
of the file is detected; on failure OUT is not created and the exit status
is 1. Written to stdout, only authenticated data is released, but what was
written before a failure at the end must be discarded.`,
		Args: argsAtMost(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := required(c, "key"); err != nil {
				return err
			}
			key, err := e.loadSessionKey(keyFile)
			if err != nil {
				return err
			}
			return e.decrypt(key, firstArg(args), outputTo{out, force})
		},
	}
	c.Flags().StringVarP(&keyFile, "key", "k", "", "session key `FILE`")
	outputFlag(c, &out, &force, "write to `FILE` instead of stdout")
	return c
}

func (e *env) decrypt(key *keyblob.SessionKey, inName string, to outputTo) error {
	in, err := e.openInput(inName)
	if err != nil {
		return err
	}
	defer in.Close()
	peeked, head := peekInput(in)
	d, err := openEncrypted(peeked, key)
	if err != nil {
		return wrongInput(decryptError(err), head, inName, "encrypted file")
	}
	out, err := e.createOutput(to.name, outputOptions{mode: modeSecret, replace: to.force})
	if err != nil {
		return err
	}
	if _, err := d.Decrypt(outputSink(out)); err != nil {
		out.Abort()
		if out.streamed() && errors.Is(err, keyblob.ErrAuth) {
			where := "stdout"
			if !isStdio(to.name) {
				where = to.name
			}
			return withHint(decryptError(err), "discard what was written to %s", where)
		}
		return decryptError(err)
	}
	return out.Commit()
}

// openEncrypted reads and checks the header of an encrypted file, through
// the armor when there is one (keyblob.DearmorEncrypted). A regular file
// that starts with the binary magic is read at offsets (keyblob.DecryptAt),
// so that its payload is read in parallel.
func openEncrypted(in io.Reader, key *keyblob.SessionKey) (*keyblob.Decrypter, error) {
	if file, size, ok := regularBinary(in); ok {
		return keyblob.DecryptAt(file, size, key, nil)
	}
	src, err := keyblob.DearmorEncrypted(in)
	if err != nil {
		return nil, err
	}
	return keyblob.Decrypt(src, key, nil)
}

// firstArg returns the first argument, or "" for stdin/stdout.
func firstArg(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}
