package main

import (
	"github.com/spf13/cobra"
)

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
