package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyblob/keyblob/authority"
	"github.com/keyblob/keyblob/authority/api"
	"github.com/keyblob/keyblob/authority/console"
	"github.com/keyblob/keyblob/internal/atomicfile"
)

// verifyRecordFile is where 'authority audit verify' records its last
// outcome in DIR, for the console's overview.
const verifyRecordFile = "audit-verify.json"

// defaultLinkValidity is how long a console sign-in link is valid.
const defaultLinkValidity = 5 * time.Minute

func newConsoleLoginCmd(e *env) *cobra.Command {
	var a authFlags
	var idName string
	valid := defaultLinkValidity
	c := &cobra.Command{
		Use:   "console-login --authority A -i OPERATOR [--valid D]",
		Short: "Print a one-time sign-in link to the authority's operator console",
		Long: `console-login prints a link that signs the operator OPERATOR in to the
console of the authority A ('keyblob authority serve --console'): its URL
with /console/login?t=TOKEN, where TOKEN is signed by OPERATOR's identity,
which must be listed in the authority's --operators file. The link works
once, within --valid (default 5m, at most 1h); opening it starts a session
and removes the token from the address bar. Nothing is sent to the
authority until the link is opened, and the identity's private key never
enters the browser (spec/escrow-api.md section 12).`,
		Args: argsExactly(0),
		RunE: func(c *cobra.Command, _ []string) error {
			if err := required(c, "identity"); err != nil {
				return err
			}
			if valid < time.Second || valid > api.MaxConsoleValidity || valid%time.Second != 0 {
				return usagef("--valid must be whole seconds from 1s to %s, not %s", api.MaxConsoleValidity, valid)
			}
			cl, err := e.authorityClient(c, &a)
			if err != nil {
				return err
			}
			op, err := e.loadIdentity(idName)
			if err != nil {
				return err
			}
			if !op.CanSign() {
				return fmt.Errorf("%s has no signature key to sign the link with", idName)
			}
			tok, err := api.NewConsoleToken(op, cl.recipient.Fingerprint(), time.Now(), valid)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s%s?t=%s\n", trimSlash(cl.url), api.ConsoleLoginPath, tok)
			return nil
		},
	}
	c.Flags().StringVarP(&idName, "identity", "i", "", "the operator's `IDENTITY` (a file or a stored identity)")
	durationFlag(c, &valid, "valid", "how long the link is valid (`DURATION`, default 5m, at most 1h)")
	authorityFlags(c, &a)
	return c
}

func trimSlash(u string) string {
	for len(u) > 0 && u[len(u)-1] == '/' {
		u = u[:len(u)-1]
	}
	return u
}

// consoleHandler is the console of svc for serve --console: its
// operators are those of --operators.
func (e *env) consoleHandler(o *authServe, svc *authority.Service, useTLS bool) (http.Handler, error) {
	if !o.console {
		return nil, nil
	}
	ops, err := e.loadOperators(o.operators)
	if err != nil {
		return nil, err
	}
	dir := o.dir
	return console.New(&console.Options{Service: svc, Operators: ops, Secure: useTLS,
		LastVerify: func() (console.Verification, bool) { return readVerifyRecord(dir) }})
}

// verifyRecord is the file verifyRecordFile.
type verifyRecord struct {
	Time    time.Time `json:"time"`
	OK      bool      `json:"ok"`
	Entries uint64    `json:"entries"`
	Message string    `json:"message"`
}

// recordVerify writes the outcome of audit verify into dir, atomically.
func recordVerify(dir string, head api.AuditHead, verr error) error {
	r := verifyRecord{Time: time.Now().UTC(), OK: verr == nil, Entries: head.Seq}
	if verr != nil {
		r.Message = verr.Error()
	} else {
		r.Message = fmt.Sprintf("chain, tree and head agree; root %s", head.Root)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, verifyRecordFile), append(b, '\n'), 0o600)
}

// readVerifyRecord reads the last outcome of audit verify in dir.
func readVerifyRecord(dir string) (console.Verification, bool) {
	b, err := os.ReadFile(filepath.Join(dir, verifyRecordFile))
	var r verifyRecord
	if err != nil || len(b) > 64<<10 || json.Unmarshal(b, &r) != nil {
		return console.Verification{}, false
	}
	return console.Verification{Time: r.Time, OK: r.OK, Entries: r.Entries, Message: r.Message}, true
}

// errNoConsoleOperators is --console without --operators.
var errNoConsoleOperators = errors.New("--console needs --operators FILE: the operators who may sign in")
