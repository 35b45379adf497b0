package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/keyblob/keyblob/authority/api"
)

func newEscrowCancelCmd(e *env) *cobra.Command {
	var a authFlags
	var idName string
	c := &cobra.Command{
		Use:   "cancel --authority A -i IDENTITY REQUEST-ID",
		Short: "Cancel a recovery of the owner's keys before it can be completed",
		Long: `cancel stops the recovery request REQUEST-ID of the owner's keys, in a
request signed by the owner's current identity IDENTITY, while it waits
for the authority's recovery delay ('keyblob escrow watch' reports each
request with the time it becomes completable). It cannot be undone: the
request can never complete, and whoever made it must start again, with
the code. The authority's signed receipt records it in its log.`,
		Args: argsExactly(1),
		RunE: func(c *cobra.Command, args []string) error {
			id, err := api.ParseRequestID(args[0])
			if err != nil {
				return usagef("REQUEST-ID: %v", err)
			}
			cl, owner, err := e.escrowSetup(c, &a, idName)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(c.Context(), requestTimeout)
			defer cancel()
			r, err := cl.Cancel(ctx, owner, id)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "keyblob: recovery request %s is %s: it can never complete\n", r.ID, r.State)
			return nil
		},
	}
	identityFlag(c, &idName, "the owner's current `IDENTITY` (a file or a stored identity)")
	authorityFlags(c, &a)
	return c
}
