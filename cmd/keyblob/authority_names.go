package main

// keyblob authority add, list, rm: the client's names for backup
// authorities, kept in the key store (keystore/authority.go).

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority/client"
	"github.com/keyblob/keyblob/keystore"
)

// authAdd are the flags of authority add.
type authAdd struct {
	force, insecureHTTP, offline bool
	caFile                       string
}

func newAuthorityAddCmd(e *env) *cobra.Command {
	var o authAdd
	c := &cobra.Command{
		Use:   "add NAME URL RECIPIENT [--insecure-http] [--ca-file FILE] [--offline] [--force]",
		Short: "Name a backup authority: its URL and the recipient line its operator gave you",
		Long: `add stores the backup authority NAME in the key store: its URL (http:// or
https://) and RECIPIENT, its recipient line (or a file holding it), as its
operator gave it to you. Every escrow command then takes --authority NAME.
Requests are sealed to that recipient and receipts verified with it, never
with the one the service reports.

add first asks the service, over the connection the escrow commands will
use, for its recipient: if it does not answer, or reports another, add
stores nothing and exits 1. --offline stores without asking.

Plain http:// is refused to anything but a loopback address (127.0.0.0/8,
::1, localhost) unless --insecure-http, which is stored with the
authority. --ca-file FILE trusts the CA certificates in FILE (PEM), and no
other, for this authority's HTTPS: they are copied into the key store. An
existing NAME is replaced only with --force.`,
		Args: argsExactly(3),
		RunE: func(c *cobra.Command, args []string) error { return e.addAuthority(c.Context(), args, &o) },
	}
	f := c.Flags()
	f.BoolVar(&o.force, "force", false, "replace an existing authority of that name")
	f.BoolVar(&o.insecureHTTP, "insecure-http", false, "allow a plain http:// URL that is not a loopback address")
	f.StringVar(&o.caFile, "ca-file", "", "trust only the CA certificates in `FILE` (PEM) for this authority's HTTPS")
	f.BoolVar(&o.offline, "offline", false, "store without checking that the authority answers with RECIPIENT")
	return c
}

// addAuthority is authority add NAME URL RECIPIENT.
func (e *env) addAuthority(ctx context.Context, args []string, o *authAdd) error {
	a, err := e.urlAuthority(args[1], args[2], o.insecureHTTP, o.caFile)
	if err != nil {
		return err
	}
	cl, err := newAuthorityClient(a)
	if err != nil {
		return err
	}
	if !o.offline {
		if err := checkAuthorityAnswers(ctx, cl, a); err != nil {
			return err
		}
	}
	s, err := e.createStore()
	if err != nil {
		return err
	}
	opts := &keystore.AuthorityOptions{Replace: o.force, InsecureHTTP: a.InsecureHTTP, CAs: a.CAs}
	if err := s.AddAuthority(args[0], a.URL, a.Recipient, opts); err != nil {
		return storeError(err)
	}
	if o.offline {
		fmt.Fprintf(e.stderr, "keyblob: stored %s without checking (--offline) that the service at %s answers as that authority\n", args[0], a.URL)
	}
	return nil
}

// checkAuthorityAnswers asks the authority a, through cl, for its
// recipient: no answer, or another recipient, is refused.
func checkAuthorityAnswers(ctx context.Context, cl *client.Client, a *keystore.Authority) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	info, err := cl.Info(ctx)
	if err != nil {
		hint := "check the URL and that the service runs; --offline stores the authority without checking"
		var unknownCA x509.UnknownAuthorityError
		if errors.As(err, &unknownCA) {
			hint = "its TLS certificate is not signed by a CA you trust: give the authority's CA certificate with --ca-file FILE"
		}
		return withHint(fmt.Errorf("the authority at %s did not answer (%w): nothing was stored", a.URL, err), "%s", hint)
	}
	got, err := keyblob.ParseRecipientLine(info.Recipient)
	if err != nil || !got.Equal(a.Recipient) {
		return withHint(fmt.Errorf("the service at %s is not the authority of that recipient (it reports another key): nothing was stored", a.URL),
			"check the URL, and the recipient line with the authority's operator")
	}
	return nil
}

func newAuthorityListCmd(e *env) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "list",
		Short: "List the named backup authorities: name, URL, fingerprint",
		Long: `list shows every authority named with 'authority add': its name, URL and
the fingerprint of its recipient. With no store, or no authority, it prints
nothing (--json: []).`,
		Args: argsExactly(0),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := e.listStore()
			if s == nil {
				return err
			}
			as, err := s.Authorities()
			if err != nil {
				return storeError(err)
			}
			t := newListing(asJSON, "name", "url", "fingerprint")
			for _, a := range as {
				t.add(a.Name, a.URL, a.Recipient.Fingerprint().String())
			}
			return e.writeListing(t, "authority", "authorities", "'keyblob authority rm NAME' removes it")
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func newAuthorityRmCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "rm NAME",
		Short: "Forget a named backup authority",
		Long: `rm removes the authority NAME from the key store (its deposits stay at the
authority; receipts stay under $KEYBLOB_HOME/receipts).`,
		Args: argsExactly(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := e.openStore()
			if err != nil {
				return err
			}
			return storeError(s.RemoveAuthority(args[0]))
		},
	}
}
