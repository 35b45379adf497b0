package main

// authority policy show|set: the recovery policy stored with the
// authority (spec/escrow-api.md section 7.15).

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/keyblob/keyblob/authority"
	"github.com/keyblob/keyblob/authority/api"
)

func newAuthorityPolicyCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "policy",
		Short: "Show or change the recovery policy stored with the authority",
		Long: `policy shows (show) or changes (set) the recovery policy stored with the
authority's records: how many operators must approve a recovery, which
ones, and the recovery delay. Every instance of serve on the database
applies the stored policy; serve started with flags that differ from it
refuses to start. Each change is a new version, in the audit log, and
each recovery request keeps the version it was made under.`,
		Args: argsExactly(0),
	}
	c.AddCommand(newPolicyShowCmd(e), newPolicySetCmd(e))
	return c
}

func newPolicyShowCmd(e *env) *cobra.Command {
	var o authServe
	c := &cobra.Command{
		Use:   "show --dir DIR [--db URL]",
		Short: "Print the recovery policy in force",
		Long: `show prints the newest version of the recovery policy stored with the
authority in DIR (or --db): its version and time, the approvals a
recovery needs, the recovery delay, and one line per operator.`,
		Args: argsExactly(0),
		RunE: func(c *cobra.Command, _ []string) error {
			if err := required(c, "dir"); err != nil {
				return err
			}
			store, _, err := openAuthorityStore(c.Context(), o.dir, &o.db)
			if err != nil {
				return err
			}
			defer store.Close()
			p, err := store.Policy(c.Context(), 0)
			if errors.Is(err, api.ErrNotFound) {
				return withHint(errors.New("no recovery policy is stored yet"), "the first 'keyblob authority serve' stores the one its flags give")
			}
			if err != nil {
				return err
			}
			e.printPolicy(&p)
			return nil
		},
	}
	c.Flags().StringVar(&o.dir, "dir", "", "the authority's `DIR`")
	c.Flags().Var(&o.db, "db", "the database, as for serve (default sqlite:DIR/authority.db)")
	return c
}

func (e *env) printPolicy(p *authority.Policy) {
	fmt.Fprintf(e.stdout, "version %d, set %s\napprovals %d\nrecovery-delay %s\n", p.Version, api.FormatTime(p.Set), p.Quorum, delayValue{&p.Delay})
	for _, op := range p.Operators {
		fmt.Fprintf(e.stdout, "operator %s\n", op)
	}
}

func newPolicySetCmd(e *env) *cobra.Command {
	o := authServe{quorum: 1}
	var noApproval bool
	c := &cobra.Command{
		Use:   "set --dir DIR [--db URL] [--require-approval --operators FILE [--quorum K] | --no-approval] [--recovery-delay D]",
		Short: "Store a new version of the recovery policy",
		Long: `set stores a new version of the recovery policy: what it does not name
stays as it is. Running serve instances apply it to the requests made
after it; a request made before keeps the policy it was made under. It
reads the authority's identity as serve does.`,
		Args: argsExactly(0),
		RunE: func(c *cobra.Command, _ []string) error {
			return e.setPolicy(c, &o, noApproval)
		},
	}
	f := c.Flags()
	f.StringVar(&o.dir, "dir", "", "the authority's `DIR`")
	f.Var(&o.db, "db", "the database, as for serve (default sqlite:DIR/authority.db)")
	f.BoolVar(&o.requireApproval, "require-approval", false, "recoveries need approvals by operators")
	f.StringVar(&o.operators, "operators", "", "the operators, one recipient per line of `FILE`")
	f.IntVar(&o.quorum, "quorum", 1, "distinct operator approvals a recovery needs")
	f.BoolVar(&noApproval, "no-approval", false, "recoveries need no approval")
	f.Var(delayValue{&o.delay}, "recovery-delay", "a recovery can be completed this `DURATION` after it was made (0s: at once)")
	requireWith(c, "operators", "require-approval")
	requireWith(c, "quorum", "require-approval")
	return c
}

func (e *env) setPolicy(c *cobra.Command, o *authServe, noApproval bool) error {
	if err := required(c, "dir"); err != nil {
		return err
	}
	if noApproval && o.requireApproval {
		return usagef("--no-approval and --require-approval exclude each other")
	}
	svc, done, err := e.offlineService(c, o)
	if err != nil {
		return err
	}
	defer done()
	p, err := svc.Policy(c.Context())
	if err != nil {
		return err
	}
	changePolicy(c, &p, svc.ConfigPolicy(), o, noApproval)
	if p, err = svc.SetPolicy(c.Context(), p, svc.Fingerprint()); err != nil {
		return err
	}
	e.printPolicy(&p)
	return nil
}

// changePolicy applies the flags given to p.
func changePolicy(c *cobra.Command, p *authority.Policy, flags authority.Policy, o *authServe, noApproval bool) {
	if c.Flags().Changed("recovery-delay") {
		p.Delay = o.delay
	}
	switch {
	case noApproval:
		p.Quorum, p.Operators = 0, nil
	case o.requireApproval:
		p.Quorum, p.Operators = flags.Quorum, flags.Operators
	}
}

func newThrottleResetCmd(e *env) *cobra.Command {
	var o authServe
	var owner string
	c := &cobra.Command{
		Use:   "throttle-reset --dir DIR [--db URL] --owner OWNER",
		Short: "Set an owner's count of wrong recovery codes to zero",
		Long: `throttle-reset lets an owner whose wrong recovery codes made its code
checks wait have its next one checked at once, as the authority's
operator decides: the count goes to zero, with a throttle_reset entry in
the audit log. OWNER is the owner's recipient (line, file or contact) or a
signature-key fingerprint. It reads the authority's identity as serve does.`,
		Args: argsExactly(0),
		RunE: func(c *cobra.Command, _ []string) error {
			if err := required(c, "dir", "owner"); err != nil {
				return err
			}
			fp, err := e.ownerFingerprint(owner)
			if err != nil {
				return err
			}
			svc, done, err := e.offlineService(c, &o)
			if err != nil {
				return err
			}
			defer done()
			got, err := svc.ResetThrottle(c.Context(), fp, svc.Fingerprint())
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "keyblob: owner %s: its count of wrong recovery codes is now 0\n", got.ID)
			return nil
		},
	}
	c.Flags().StringVar(&o.dir, "dir", "", "the authority's `DIR`")
	c.Flags().Var(&o.db, "db", "the database, as for serve (default sqlite:DIR/authority.db)")
	c.Flags().StringVar(&owner, "owner", "", "the `OWNER`: a recipient or a signature-key fingerprint")
	return c
}

// offlineService is the Service of the authority in o.dir on its store,
// for a command that changes its records without serving: its identity
// read as serve reads it, the operators of o. done closes the store.
func (e *env) offlineService(c *cobra.Command, o *authServe) (*authority.Service, func(), error) {
	o.throttleAfter = authority.DefaultThrottleAfter
	cfg, err := e.authorityConfig(o)
	if err != nil {
		return nil, nil, err
	}
	store, _, err := openAuthorityStore(c.Context(), o.dir, &o.db)
	if err != nil {
		return nil, nil, err
	}
	cfg.Store = store
	svc, err := authority.New(cfg)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return svc, func() { store.Close() }, nil
}
