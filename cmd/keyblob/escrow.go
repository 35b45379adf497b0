package main

// keyblob escrow: an owner's side of the backup authority (enroll,
// deposit, list, log, recover), through client.Client, which signs
// every request and verifies every receipt and re-wrapped blob with the
// recipient the user named for the authority. Recovery codes are printed
// on stdout only, alone, and never logged or put in an error.

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority/api"
	"github.com/keyblob/keyblob/authority/client"
	"github.com/keyblob/keyblob/internal/atomicfile"
	"github.com/keyblob/keyblob/keystore"
)

// requestTimeout bounds one escrow command's exchange with the authority.
const requestTimeout = 2 * time.Minute

// authFlags are --authority, --authority-key, and, with a URL, how to
// reach it: --insecure-http and --ca-file.
type authFlags struct {
	name, key, caFile string
	insecureHTTP      bool
}

// authorityFlags adds --authority, --authority-key, --insecure-http and
// --ca-file to c.
func authorityFlags(c *cobra.Command, f *authFlags) {
	c.Flags().StringVar(&f.name, "authority", "", "the backup authority: a `NAME` from 'keyblob authority add', or its URL (with --authority-key)")
	c.Flags().StringVar(&f.key, "authority-key", "", "the authority's `RECIPIENT` (line, file or contact) when --authority is a URL")
	c.Flags().BoolVar(&f.insecureHTTP, "insecure-http", false, "allow a plain http:// --authority URL that is not a loopback address")
	c.Flags().StringVar(&f.caFile, "ca-file", "", "trust only the CA certificates in `FILE` (PEM) for an https:// --authority URL")
	requireWith(c, "authority-key", "authority")
	requireWith(c, "insecure-http", "authority")
	requireWith(c, "ca-file", "authority")
}

// escrowClient is a client of one authority and the name it goes by.
type escrowClient struct {
	*client.Client
	name      string // what --authority said
	url       string
	recipient *keyblob.Recipient
}

// authorityClient resolves --authority (and --authority-key).
func (e *env) authorityClient(c *cobra.Command, f *authFlags) (*escrowClient, error) {
	if err := required(c, "authority"); err != nil {
		return nil, err
	}
	if strings.Contains(f.name, "://") {
		if f.key == "" {
			return nil, usagef("--authority URL needs --authority-key RECIPIENT, or name it once with 'keyblob authority add NAME URL RECIPIENT'")
		}
		a, err := e.urlAuthority(f.name, f.key, f.insecureHTTP, f.caFile)
		if err != nil {
			return nil, err
		}
		cl, err := newEscrowClient(f.name, a)
		if err == nil {
			cl.Notice = e.notice
		}
		return cl, err
	}
	switch {
	case f.key != "":
		return nil, usagef("--authority-key goes with a URL --authority; the stored authority %q has its key", f.name)
	case f.insecureHTTP || f.caFile != "":
		return nil, usagef("--insecure-http and --ca-file go with a URL --authority; the stored authority %q has its own (change them with 'keyblob authority add --force')", f.name)
	}
	return e.storedAuthority(f.name)
}

// storedAuthority is the client of a stored authority.
func (e *env) storedAuthority(name string) (*escrowClient, error) {
	s, err := e.openStore()
	var a *keystore.Authority
	if err == nil {
		a, err = s.Authority(name)
	}
	if errors.Is(err, keystore.ErrNoStore) || errors.Is(err, keystore.ErrNotFound) {
		return nil, withHint(fmt.Errorf("no backup authority %q in the key store", name),
			"'keyblob authority add NAME URL RECIPIENT' names one; or give its URL with --authority-key")
	}
	if err != nil {
		return nil, storeError(err)
	}
	cl, err := newEscrowClient(name, a)
	if err != nil {
		return nil, err
	}
	cl.Log, cl.Notice = storeLog{store: s, name: name}, e.notice
	return cl, nil
}

// notice prints what an authority's answer tells the owner besides its
// result, as a warning.
func (e *env) notice(msg string) { fmt.Fprintf(e.stderr, "keyblob: warning: %s\n", msg) }

// newEscrowClient is the client of a, which --authority named name.
func newEscrowClient(name string, a *keystore.Authority) (*escrowClient, error) {
	cl, err := newAuthorityClient(a)
	if err != nil {
		return nil, err
	}
	return &escrowClient{Client: cl, name: name, url: a.URL, recipient: a.Recipient}, nil
}

// newAuthorityClient is client.New for a, through authorityHTTP; it
// refuses, before any connection, what checkTransport refuses.
func newAuthorityClient(a *keystore.Authority) (*client.Client, error) {
	cl, err := client.New(a.URL, a.Recipient)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(a.URL) // client.New parsed it
	if err != nil {
		return nil, err
	}
	if err := checkTransport(a, u); err != nil {
		return nil, err
	}
	cl.HTTP = authorityHTTP(a)
	return cl, nil
}

func newEscrowCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "escrow",
		Short: "Keep session keys with a backup authority, and recover them",
		Long: `keyblob escrow deposits session keys with a backup authority (named with
'keyblob authority add') and gets them back after the identity that owns
them is lost: enroll once (it prints a recovery code), deposit keys, and
recover them to a new identity with that code.`,
		Args: argsExactly(0),
	}
	c.AddCommand(newEnrollCmd(e), newDepositCmd(e), newEscrowListCmd(e), newEscrowLogCmd(e), newRecoverCmd(e),
		newEscrowCheckpointCmd(e), newEscrowWatchCmd(e), newEscrowCancelCmd(e))
	return c
}

func newEnrollCmd(e *env) *cobra.Command {
	var a authFlags
	var idName string
	c := &cobra.Command{
		Use:   "enroll --authority A -i IDENTITY",
		Short: "Register an identity with the authority; prints its one-time recovery code",
		Long: `enroll registers IDENTITY (a file or a stored identity) as an owner with
the authority and prints its recovery code, alone, on stdout: it is shown
this once, and the authority keeps only an Argon2id verifier of it. Keep
it offline: with it, a new identity gets the owner's keys back. The code
travels sealed to the authority's key, never in the clear. The
authority's signed receipt is kept under $KEYBLOB_HOME/receipts/.`,
		Args: argsExactly(0),
		RunE: func(c *cobra.Command, _ []string) error {
			cl, id, err := e.escrowSetup(c, &a, idName)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(c.Context(), requestTimeout)
			defer cancel()
			code, rc, err := cl.Enroll(ctx, id)
			if err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, code.String())
			owner := id.Recipient().SigningFingerprint()
			fmt.Fprintf(e.stderr, "keyblob: enrolled with %s as owner %s; the recovery code above is shown once: keep it offline\n", cl.name, owner)
			return e.keepReceipt(cl, "", "enroll-"+hex.EncodeToString(owner[:8]), rc)
		},
	}
	identityFlag(c, &idName, "the `IDENTITY` to enrol (a file or a stored identity)")
	authorityFlags(c, &a)
	return c
}

// identityFlag adds -i IDENTITY to c.
func identityFlag(c *cobra.Command, name *string, usage string) {
	c.Flags().StringVarP(name, "identity", "i", "", usage)
}

// escrowSetup checks -i and --authority and loads both.
func (e *env) escrowSetup(c *cobra.Command, a *authFlags, idName string) (*escrowClient, *keyblob.Identity, error) {
	if err := required(c, "authority", "identity"); err != nil {
		return nil, nil, err
	}
	cl, err := e.authorityClient(c, a)
	if err != nil {
		return nil, nil, err
	}
	id, err := e.loadIdentity(idName)
	if err != nil {
		return nil, nil, err
	}
	if !id.CanSign() {
		return nil, nil, withHint(fmt.Errorf("identity %s has no signature key", idName), "escrow requests are signed: use an identity that can sign")
	}
	return cl, id, nil
}

func newDepositCmd(e *env) *cobra.Command {
	var a authFlags
	var idName, keyFile, desc, receipt string
	c := &cobra.Command{
		Use:   "deposit --authority A -i IDENTITY -k SESSIONKEY [--description TEXT] [--receipt FILE]",
		Short: "Deposit a session key with the authority; prints its serial",
		Long: `deposit exports the session key in SESSIONKEY as a key blob wrapped to the
authority and signed by IDENTITY (which must be enrolled), with TEXT as its
description, and deposits it in a signed request. It prints the key's
serial. The authority's signed receipt is verified and kept in FILE
(--receipt; never replacing a file) or under
$KEYBLOB_HOME/receipts/AUTHORITY/deposit-SERIAL.json. Depositing a serial
again changes nothing: the authority keeps the first deposit.`,
		Args: argsExactly(0),
		RunE: func(c *cobra.Command, _ []string) error {
			if err := required(c, "key"); err != nil {
				return err
			}
			cl, id, err := e.escrowSetup(c, &a, idName)
			if err != nil {
				return err
			}
			key, err := e.loadSessionKey(keyFile)
			if err != nil {
				return err
			}
			if err := e.deposit(c.Context(), cl, id, key, desc, receipt); err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, key.Serial())
			return nil
		},
	}
	identityFlag(c, &idName, "the owner's `IDENTITY`, which signs (a file or a stored identity)")
	c.Flags().StringVarP(&keyFile, "key", "k", "", "session key `FILE`")
	c.Flags().StringVar(&desc, "description", "", "description kept with the key (`TEXT`)")
	c.Flags().StringVar(&receipt, "receipt", "", "write the authority's receipt to `FILE`")
	authorityFlags(c, &a)
	return c
}

// deposit deposits key, owned and signed by id, and keeps the receipt.
func (e *env) deposit(ctx context.Context, cl *escrowClient, id *keyblob.Identity, key *keyblob.SessionKey, desc, receipt string) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	d, rc, fresh, err := cl.Deposit(ctx, id, key, desc)
	if err != nil {
		return fmt.Errorf("depositing with %s: %w", cl.name, err)
	}
	if !fresh {
		fmt.Fprintf(e.stderr, "keyblob: warning: %s already had a deposit of serial %s from this owner (description %q); it keeps that one\n", cl.name, d.Serial, d.Description)
	}
	return e.keepReceipt(cl, receipt, "deposit-"+key.Serial().String(), rc)
}

// storedReceipt is the file a client keeps a receipt in.
type storedReceipt struct {
	Authority   string        `json:"authority"`
	Fingerprint string        `json:"authority_fingerprint"`
	Receipt     api.ReceiptV1 `json:"receipt"`
}

// wireTime is a time of the API in the CLI's one form, RFC 3339 to the
// second, UTC (the wire carries nanoseconds); a value that does not
// parse is shown as it came.
func wireTime(s string) any {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.UTC().Truncate(time.Second)
}

// keepReceipt writes rc to file, or, if file is "", replaces
// $KEYBLOB_HOME/receipts/AUTHORITY/NAME.json, where AUTHORITY is the hex
// of the first 8 bytes of the authority's fingerprint.
func (e *env) keepReceipt(cl *escrowClient, file, name string, rc api.Receipt) error {
	fp := cl.recipient.Fingerprint()
	data, err := json.MarshalIndent(storedReceipt{Authority: cl.url, Fingerprint: fp.String(), Receipt: rc.V1()}, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if file != "" {
		return e.writeOutput(file, data, outputOptions{mode: modePublic})
	}
	home, err := e.keyblobHome()
	if err != nil {
		return err
	}
	dir := filepath.Join(home, "receipts", hex.EncodeToString(fp[:8]))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("keeping the receipt: %w", err)
	}
	return atomicfile.WriteFile(filepath.Join(dir, name+".json"), data, modeSecret)
}

func newEscrowListCmd(e *env) *cobra.Command {
	var a authFlags
	var idName string
	var asJSON bool
	c := &cobra.Command{
		Use:   "list --authority A -i IDENTITY [--json]",
		Short: "List the owner's deposits: seq, serial, description, created, deposited",
		Long: `list asks the authority, in a request signed by IDENTITY, for every deposit
of its owner: sequence number, serial, description, the key's creation
time and the deposit's. No one else's deposits are ever listed.`,
		Args: argsExactly(0),
		RunE: func(c *cobra.Command, _ []string) error {
			cl, id, err := e.escrowSetup(c, &a, idName)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(c.Context(), requestTimeout)
			defer cancel()
			ds, err := cl.Deposits(ctx, id)
			if err != nil {
				return err
			}
			t := &table{columns: []string{"seq", "serial", "description", "created", "deposited"}}
			for _, d := range ds {
				t.add(d.Seq, d.Serial, d.Description, wireTime(d.Created), wireTime(d.Deposited))
			}
			return e.writeTable(t, asJSON)
		},
	}
	identityFlag(c, &idName, "the owner's `IDENTITY` (a file or a stored identity)")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	authorityFlags(c, &a)
	return c
}

func newEscrowLogCmd(e *env) *cobra.Command {
	var a authFlags
	var idName string
	var asJSON bool
	c := &cobra.Command{
		Use:   "log --authority A -i IDENTITY [--json]",
		Short: "Show the audit log entries about the owner: enrolment, deposits, recoveries",
		Long: `log asks the authority, in a request signed by IDENTITY, for the entries
of its audit log about the owner (enrolment, deposits, code attempts,
recovery requests, approvals, recoveries, releases): seq, time, kind,
actor, ref ("-" for none) and detail, whose members are shown in brief
as key=value (a recipient line as its kind and fingerprint; with --json,
the detail is the entry's JSON object). Each page is signed by the authority for this
request, so that no entry can be dropped on the way, and each entry is
proved to be in the authority's log, consistent with what this client saw
before (keyblob escrow checkpoint).`,
		Args: argsExactly(0),
		RunE: func(c *cobra.Command, _ []string) error {
			cl, id, err := e.escrowSetup(c, &a, idName)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(c.Context(), requestTimeout)
			defer cancel()
			view, err := cl.Audit(ctx, id, 0)
			if err != nil {
				return err
			}
			t := &table{columns: []string{"seq", "time", "kind", "actor", "ref", "detail"}}
			for _, en := range view.Entries {
				v := en.V1()
				t.add(v.Seq, v.Time, v.Kind, deref(v.Actor), deref(v.Ref), auditDetail(v.Detail))
			}
			return e.writeTable(t, asJSON)
		},
	}
	identityFlag(c, &idName, "the owner's `IDENTITY` (a file or a stored identity)")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	authorityFlags(c, &a)
	return c
}

// deref is a column's value of an optional string: nil (none, null) or
// the string.
func deref(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

// recoverFlags are the flags of escrow recover.
type recoverFlags struct {
	a                              authFlags
	owner, code, codeFile, to, out string
	serial, request                string
	force                          bool
}

func newRecoverCmd(e *env) *cobra.Command {
	var f recoverFlags
	c := &cobra.Command{
		Use:   "recover --authority A --to IDENTITY (--owner OWNER (--recovery-code CODE | --recovery-code-file FILE) [--serial N] [--request ID] | --request ID) -o DIR",
		Short: "Recover the owner's keys to a new identity with the recovery code",
		Long: `recover proves, with the owner's recovery code, that you own OWNER (its
recipient line, a file or contact holding it, or the fingerprint of any
signature key it was enrolled or recovered with), and has the authority
re-wrap every key of the owner (or only --serial N) to IDENTITY, the new
identity, which signs the requests and from then on is the owner. It
writes one key blob per key to DIR/SERIAL.blob (DIR is created with mode
0700; existing blob files are refused unless --force) and prints the
owner's NEW recovery code, alone, on stdout: the old one no longer works.
'keyblob import -i IDENTITY' then yields the original session keys.

Give the code with --recovery-code-file FILE (its first line) rather than
--recovery-code, which other users may see in the process list. After 10
wrong codes the owner is locked.

If the authority needs operator approvals, recover prints the request id
on stdout and stops; once the operators ran 'keyblob authority approve
ID', run recover again with --request ID: the same command line with
--request ID added, or only --authority, --to, --request and -o (the
recovery code is then not needed, and not read; a --serial must be the
request's).`,
		Args: argsExactly(0),
		RunE: func(c *cobra.Command, _ []string) error { return e.recover(c, &f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.owner, "owner", "", "the owner: its `RECIPIENT` (line, file, contact) or a signature fingerprint (SHA256:...)")
	fl.StringVar(&f.code, "recovery-code", "", "the owner's recovery `CODE`")
	fl.StringVar(&f.codeFile, "recovery-code-file", "", "read the recovery code from the first line of `FILE`")
	fl.StringVar(&f.to, "to", "", "the new `IDENTITY` (a file or a stored identity) the keys are re-wrapped to")
	fl.StringVar(&f.serial, "serial", "", "recover only the key of serial `N` (32 hex digits)")
	fl.StringVar(&f.request, "request", "", "complete the approved recovery request `ID`")
	outputFlag(c, &f.out, &f.force, "write the key blobs to `DIR`")
	authorityFlags(c, &f.a)
	return c
}

// checkRecoverFlags checks the command line of escrow recover.
func checkRecoverFlags(c *cobra.Command, f *recoverFlags) error {
	if err := required(c, "authority", "to", "output"); err != nil {
		return err
	}
	switch {
	case isStdio(f.out):
		return usagef("-o DIR names a directory for the key blobs, not stdout")
	case f.code != "" && f.codeFile != "":
		return usagef("give one of --recovery-code and --recovery-code-file, not both")
	case f.request == "" && f.owner == "":
		return usagef("recover needs --owner (see '%s --help')", c.CommandPath())
	case f.request == "" && f.code == "" && f.codeFile == "":
		return usagef("recover needs one of --recovery-code and --recovery-code-file (see '%s --help')", c.CommandPath())
	}
	return nil
}

func (e *env) recover(c *cobra.Command, f *recoverFlags) error {
	if err := checkRecoverFlags(c, f); err != nil {
		return err
	}
	serial, err := parseSerialFlag(f.serial)
	if err != nil {
		return err
	}
	cl, err := e.authorityClient(c, &f.a)
	if err != nil {
		return err
	}
	if err := prepareBlobDir(f.out, serial, f.force); err != nil {
		return err
	}
	newID, err := e.loadIdentity(f.to)
	if err != nil {
		return err
	}
	if !newID.CanExchange() || !newID.CanSign() {
		return withHint(fmt.Errorf("identity %s must both receive and sign to recover keys", f.to), "make one with 'keyblob id new NAME'")
	}
	ctx, cancel := context.WithTimeout(c.Context(), requestTimeout)
	defer cancel()
	r, err := e.recoveryRequest(ctx, cl, newID, f, serial)
	if err != nil {
		return err
	}
	return e.finishRecovery(ctx, cl, newID, r, f)
}

// recoveryRequest opens the recovery request, or reads the one --request
// names.
func (e *env) recoveryRequest(ctx context.Context, cl *escrowClient, newID *keyblob.Identity, f *recoverFlags, serial *keyblob.Serial) (api.RecoveryV1, error) {
	if f.request != "" {
		return requestedRecovery(ctx, cl, newID, f.request, serial)
	}
	owner, err := e.ownerFingerprint(f.owner)
	if err != nil {
		return api.RecoveryV1{}, err
	}
	code, err := e.recoveryCode(f)
	if err != nil {
		return api.RecoveryV1{}, err
	}
	defer clear(code[:])
	return cl.RequestRecovery(ctx, newID, owner, code, serial)
}

// requestedRecovery reads the recovery request --request names. The
// command line that opened it may be given again as it was, with
// --request added: --owner and the recovery code are then not needed (the
// request already proved them) and not read, and --serial, if given, must
// be the request's.
func requestedRecovery(ctx context.Context, cl *escrowClient, newID *keyblob.Identity, request string, serial *keyblob.Serial) (api.RecoveryV1, error) {
	id, err := api.ParseRequestID(request)
	if err != nil {
		return api.RecoveryV1{}, usagef("--request %q is not 32 hexadecimal digits", request)
	}
	r, err := cl.Recovery(ctx, newID, id)
	if err != nil || serial == nil {
		return r, err
	}
	if r.Serial == nil || *r.Serial != serial.String() {
		return api.RecoveryV1{}, fmt.Errorf("recovery request %s is not for --serial %s: it recovers %s", r.ID, serial, requestScope(r))
	}
	return r, nil
}

// requestScope says which keys a recovery request recovers.
func requestScope(r api.RecoveryV1) string {
	if r.Serial == nil {
		return "every key of the owner"
	}
	return "only serial " + *r.Serial
}

// finishRecovery completes an approved request, prints the new code, and
// writes the keys.
func (e *env) finishRecovery(ctx context.Context, cl *escrowClient, newID *keyblob.Identity, r api.RecoveryV1, f *recoverFlags) error {
	id, err := api.ParseRequestID(r.ID)
	if err != nil {
		return err
	}
	switch r.State {
	case "pending":
		fmt.Fprintln(e.stdout, r.ID)
		fmt.Fprintf(e.stderr, "keyblob: recovery request %s waits for %d operator approval(s) (it has %d): once approved, run recover again with --request %s\n",
			r.ID, r.ApprovalsRequired, len(r.Approvals), r.ID)
		return nil
	case "completed":
		fmt.Fprintf(e.stderr, "keyblob: recovery request %s was completed before; its new recovery code was printed then\n", r.ID)
	case "approved":
		if waiting, err := e.waitingRecovery(r); waiting || err != nil {
			return err
		}
		if err := e.complete(ctx, cl, newID, id, r); err != nil {
			return err
		}
	default:
		return fmt.Errorf("recovery request %s is %s: start a new recovery", r.ID, r.State)
	}
	keys, err := cl.Keys(ctx, newID, id)
	if err != nil {
		return fmt.Errorf("fetching the recovered keys (run recover again with --request %s): %w", r.ID, err)
	}
	return e.writeRecovered(f.out, keys, f.force)
}

// waitingRecovery reports whether r cannot be completed yet (its
// recovery delay), saying so and when it can.
func (e *env) waitingRecovery(r api.RecoveryV1) (bool, error) {
	at, err := api.ParseTime("completable", r.Completable)
	if err != nil || !e.now().Before(at) {
		return false, err
	}
	fmt.Fprintln(e.stdout, r.ID)
	fmt.Fprintf(e.stderr, "keyblob: recovery request %s can be completed from %s (the owner can cancel it until then): run recover again with --request %s then\n",
		r.ID, r.Completable, r.ID)
	return true, nil
}

// complete binds the owner to newID with a new recovery code, printed on
// stdout once the authority has it, or may have it.
func (e *env) complete(ctx context.Context, cl *escrowClient, newID *keyblob.Identity, id api.RequestID, r api.RecoveryV1) error {
	owner, err := keyblob.ParseFingerprint(r.Owner)
	if err != nil {
		return err
	}
	code := api.NewRecoveryCode()
	defer clear(code[:])
	_, err = cl.Complete(ctx, newID, id, owner, code)
	var refused *client.APIError
	if errors.As(err, &refused) {
		return err
	}
	fmt.Fprintln(e.stdout, code.String())
	if err != nil {
		fmt.Fprintf(e.stderr, "keyblob: warning: the authority may have taken the new recovery code above; keep it with the old one\n")
		return err
	}
	fmt.Fprintf(e.stderr, "keyblob: the owner %s is now bound to the new identity; the NEW recovery code above replaces the old one: keep it offline\n", r.Owner)
	return nil
}

// ownerFingerprint reads --owner: a fingerprint, or a recipient whose
// signature key names the owner.
func (e *env) ownerFingerprint(arg string) (keyblob.Fingerprint, error) {
	if strings.HasPrefix(arg, "SHA256:") {
		fp, err := keyblob.ParseFingerprint(arg)
		if err != nil {
			return fp, usagef("--owner %q is not a fingerprint: %v", arg, err)
		}
		return fp, nil
	}
	r, err := e.loadRecipient(arg)
	if err != nil {
		return keyblob.Fingerprint{}, err
	}
	if !r.CanVerify() {
		return keyblob.Fingerprint{}, fmt.Errorf("--owner %s has no signature key, so it was never enrolled", arg)
	}
	return r.SigningFingerprint(), nil
}

// recoveryCode reads --recovery-code or --recovery-code-file.
func (e *env) recoveryCode(f *recoverFlags) (api.RecoveryCode, error) {
	text := f.code
	if f.codeFile != "" {
		data, err := e.readSmall(f.codeFile, "recovery code")
		if err != nil {
			return api.RecoveryCode{}, err
		}
		line, _, _ := bytes.Cut(data, []byte("\n"))
		text = strings.TrimSpace(string(line))
		clear(data)
	}
	return api.ParseRecoveryCode(text)
}

// parseSerialFlag reads --serial: nil if not given.
func parseSerialFlag(s string) (*keyblob.Serial, error) {
	if s == "" {
		return nil, nil
	}
	var serial keyblob.Serial
	raw, err := hex.DecodeString(s)
	if err != nil || len(raw) != len(serial) || hex.EncodeToString(raw) != s {
		return nil, usagef("--serial wants the 32 lowercase hex digits of a serial ('keyblob escrow list' shows them)")
	}
	copy(serial[:], raw)
	return &serial, nil
}

// prepareBlobDir makes dir (0700) and, unless force, refuses one that
// already holds a blob recover would write: checked before the recovery,
// which changes the owner's code.
func prepareBlobDir(dir string, serial *keyblob.Serial, force bool) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if force {
		return nil
	}
	pattern := "*.blob"
	if serial != nil {
		pattern = serial.String() + ".blob"
	}
	clash, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil || len(clash) == 0 {
		return err
	}
	return withHint(fmt.Errorf("%s already exists", clash[0]), "choose another -o DIR, or add --force to replace its blobs")
}

// writeRecovered writes each recovered blob to DIR/SERIAL.blob.
func (e *env) writeRecovered(dir string, keys []api.RecoveredKey, force bool) error {
	for _, k := range keys {
		path := filepath.Join(dir, k.Serial.String()+".blob")
		if err := e.writeOutput(path, k.Blob.Marshal(), outputOptions{mode: modeSecret, key: true, replace: force}); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "keyblob: recovered %s %q\n", path, k.Description)
	}
	if len(keys) == 0 {
		fmt.Fprintf(e.stderr, "keyblob: the owner has no deposits to recover\n")
	}
	return nil
}

// escrowKey deposits a session key that seal or key put just made or
// stored, owned and signed by id, with the stored authority name.
func (e *env) escrowKey(ctx context.Context, name string, id *keyblob.Identity, key *keyblob.SessionKey, desc string) error {
	cl, err := e.storedAuthority(name)
	if err != nil {
		return err
	}
	if !id.CanSign() {
		return withHint(errors.New("the identity has no signature key, which escrow requests need"), "use an identity that can sign")
	}
	return e.deposit(ctx, cl, id, key, desc, "")
}
