package main

// keyblob ca add, list, rm: the named trusted CAs of the key store
// (spec/keystore.md section 5.3), which --ca and --server-ca take by name.

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/keyblob/keyblob/keystore"
	"github.com/spf13/cobra"
)

func newCACmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "ca",
		Short: "Trusted certificate authorities in the key store (add, list, rm)",
		Long: `keyblob ca keeps the CA certificates you trust under names, so that
--ca, --server-ca and --authorized-ca can take a name instead of a file.
A stored CA is as trustworthy as the disk it is on, as contacts are.`,
	}
	c.AddCommand(newCAAddCmd(e), newCAListCmd(e), newCARmCmd(e))
	return c
}

func newCAAddCmd(e *env) *cobra.Command {
	var replace bool
	c := &cobra.Command{
		Use:   "add NAME FILE [--replace]",
		Short: "Trust the CA certificate in FILE under NAME",
		Long: `add stores the CA certificate of FILE (PEM or DER; the first of a chain)
under NAME. It must be a CA certificate (basic constraints CA). An existing
NAME is refused unless --replace.`,
		Args: argsExactly(2),
		RunE: func(c *cobra.Command, args []string) error {
			ca, err := e.readCert(args[1])
			if err != nil {
				return err
			}
			s, err := e.createStore()
			if err != nil {
				return err
			}
			if err := s.AddCA(args[0], ca, &keystore.CAOptions{Replace: replace}); err != nil {
				if errors.Is(err, keystore.ErrExists) {
					return withHint(err, "choose another name, or add --replace to trust this CA under %s instead", args[0])
				}
				return err
			}
			fmt.Fprintf(e.stderr, "keyblob: trusting CA %q (%s) as %s\n", ca.Subject.String(), certFingerprint(ca.Raw), args[0])
			e.warnValidity(ca)
			return nil
		},
	}
	c.Flags().BoolVar(&replace, "replace", false, "replace a stored CA of the name")
	return c
}

func newCAListCmd(e *env) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "list",
		Short: "List the trusted CAs: name, subject, fingerprint, end of validity",
		Long: `list shows every stored CA: its name, subject, the SHA-256 fingerprint of
its certificate and when it stops being valid. With no store, or no CA, it
prints nothing (--json: []).`,
		Args: argsExactly(0),
		RunE: func(c *cobra.Command, _ []string) error {
			t := newListing(asJSON, "name", "subject", "sha256", "not_after")
			s, err := e.openStore()
			if err == nil {
				cas, err := s.CAs()
				if err != nil {
					return err
				}
				for _, ca := range cas {
					t.add(ca.Name, ca.Cert.Subject.String(), certFingerprint(ca.Cert.Raw), ca.Cert.NotAfter.UTC().Format(time.RFC3339))
				}
			}
			return e.writeListing(t, "CA", "CAs", "")
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func newCARmCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "rm NAME",
		Short: "Stop trusting a stored CA",
		Long:  `rm removes the stored CA NAME.`,
		Args:  argsExactly(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := e.openStore()
			if err != nil {
				return err
			}
			err = s.RemoveCA(args[0])
			if errors.Is(err, keystore.ErrNotFound) {
				return withHint(err, "'keyblob ca list' lists the stored CAs")
			}
			return err
		},
	}
}

// warnValidity warns that a CA certificate being trusted is not valid
// now: every certificate it issued is refused until it is (or, expired,
// for ever).
func (e *env) warnValidity(ca *x509.Certificate) {
	now := e.now()
	switch {
	case now.After(ca.NotAfter):
		e.notice(fmt.Sprintf("the CA certificate expired at %s: certificates it issued are refused", ca.NotAfter.UTC().Format(time.RFC3339)))
	case now.Before(ca.NotBefore):
		e.notice(fmt.Sprintf("the CA certificate is not valid before %s: certificates it issued are refused until then", ca.NotBefore.UTC().Format(time.RFC3339)))
	}
}

// certFingerprint is the SHA-256 of a certificate's DER, in hex.
func certFingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}
