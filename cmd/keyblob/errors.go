package main

// All of keyblob's error reporting: the library packages return errors
// without a package prefix (docs/architecture.md, "Errors"); reportError
// prints them, unchanged, as "keyblob: error: MSG", and the one hint table
// below chooses the "keyblob: hint: HINT" line. A call site adds context
// to the message (a file name, "refused:"), and a hint with withHint only
// when the hint depends on the call site (a flag name, a file name).

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"syscall"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority"
	"github.com/keyblob/keyblob/authority/api"
	"github.com/keyblob/keyblob/channel"
	"github.com/keyblob/keyblob/internal/format"
	"github.com/keyblob/keyblob/internal/inspect"
	"github.com/keyblob/keyblob/keystore"
	"github.com/keyblob/keyblob/replay"
	"github.com/keyblob/keyblob/replay/sqlitecache"
	"github.com/keyblob/keyblob/seal"
)

// Scopes of a hint, besides a command name (cmdName: "import", "open").
const (
	anyScope   = ""
	storeScope = "key store" // an error of the key store (storeError)
)

// hints maps errors to advice: the first row whose err matches (errors.Is)
// and whose scope is "", the command's name, or storeScope for an error
// of the key store. In a hint, {file} is the file the error names
// (inFile), or FILE.
var hints = []struct {
	err   error
	scope string
	hint  string
}{
	// The key store.
	{keystore.ErrAuthorityURL, anyScope, "an authority URL is https://HOST[:PORT][/PATH] (plain http:// only to a loopback address, or with --insecure-http)"},
	{keystore.ErrNoStore, anyScope, "'keyblob id new NAME' creates one; " + homeEnv + " chooses where it is"},
	{keystore.ErrLocked, anyScope, "another keyblob is writing to the store; try again, or find the process holding it"},
	{keystore.ErrPassphrase, storeScope, "check the passphrase (--passphrase-file, " + passphraseEnv + ", or the terminal prompt)"},
	{keystore.ErrNotFound, anyScope, "'keyblob id list', 'keyblob contact list' and 'keyblob key list' show what is stored"},
	{keystore.ErrExists, anyScope, "choose another name, remove the old entry first, or use --force where offered"},
	{keystore.ErrNameClash, anyScope, "the store never makes both (an older keyblob, or someone who can write the store, did): check both, then remove one with 'keyblob contact rm NAME' or 'keyblob id rm NAME'"},
	{keystore.ErrRolledBack, anyScope, "do not use this identity until you know why: put back the newer file (from a backup), or, if you restored this copy yourself on purpose, remove the NAME.gens record beside it"},
	{keystore.ErrRefused, anyScope, "do not use this key: someone who can write the store may have replaced it"},

	// Signatures: who must have signed is said by --verify (import) or
	// --from (open).
	{keyblob.ErrNotSigned, "import", "ask the sender to export with --sign, or import without --verify only if you trust where the blob came from"},
	{keyblob.ErrWrongSigner, "import", "the blob may have been substituted; 'keyblob inspect {file}' shows who signed it"},
	{keyblob.ErrNotSigned, "open", "--from names who must have signed the message"},
	{keyblob.ErrWrongSigner, "open", "--from names who must have signed the message"},
	{keyblob.ErrCannotSign, "export", "--sign needs an identity with a signature key (Ed25519 or RSA)"},
	{keyblob.ErrIncorrectIdentity, anyScope, "'keyblob inspect {file}' shows which key it is for"},

	// The backup authority (the client maps the server's codes back to
	// these sentinels).
	{api.ErrMalformedCode, anyScope, "a recovery code is the 13 groups of 4 letters and digits that 'keyblob escrow enroll' (or the last recovery) printed"},
	{api.ErrRecoveryRefused, anyScope, "check --owner (the enrolled identity's recipient) and the recovery code; after a few wrong codes the owner's code checks wait, longer with each"},
	{api.ErrThrottled, anyScope, "wrong recovery codes were sent for this owner (its audit log shows them): wait as the error says, then give the right code; the authority's operator can reset the count"},
	{api.ErrBusy, anyScope, "the authority is checking many recovery codes, or this address sent too many requests: try again shortly"},
	{api.ErrNotCompletable, anyScope, "the recovery delay lets the owner cancel a recovery it did not ask for: run recover again with --request ID after the time the error gives"},
	{api.ErrUnauthenticated, "authority approve", "only the identities in the authority's --operators file approve: check -i OPERATOR, or give its recipient line to the authority's operator"},
	{api.ErrUnauthenticated, anyScope, "the identity must be enrolled first ('keyblob escrow enroll --authority A -i ID'); after a recovery only the new identity is accepted"},
	{api.ErrRequestExpired, anyScope, "this computer's clock and the authority's differ by more than 5 minutes: set the clock"},
	{api.ErrIdentityBound, "escrow enroll", "this identity is already enrolled (or was recovered to); 'keyblob escrow list' shows its deposits"},
	{api.ErrIdentityBound, anyScope, "a recovery needs a new identity that was never enrolled: 'keyblob id new NAME'"},
	{api.ErrApprovalRefused, anyScope, "only the operators in the authority's --operators file approve, and never their own recovery"},
	{api.ErrAlreadyApproved, anyScope, "each operator approves once: another operator must approve (--quorum)"},
	{api.ErrApprovalPending, anyScope, "the operators approve with 'keyblob authority approve REQUEST-ID -i OPERATOR'; then run recover again with --request REQUEST-ID"},
	{api.ErrNotPending, anyScope, "the request was completed, or expired: start a new recovery"},
	{api.ErrNotFound, anyScope, "check the request id: a request is shown only to its new identity (--to) and to operators"},
	{api.ErrStoreUnavailable, anyScope, "the authority's disk is full or its database read-only: tell its operator (what it accepted before is kept)"},
	{api.ErrUnavailable, anyScope, "the authority's database is unreachable: try again later, or tell its operator"},
	{api.ErrChain, anyScope, "someone who can write the database changed the log: compare with the receipts owners keep, and restore the database from a backup"},
	{authority.ErrLogTampered, anyScope, "the store's log was rewritten, truncated or edited: restore the database from a backup taken before, and give the owners' checkpoints to --checkpoint"},
	{api.ErrLogInconsistent, anyScope, "the authority rolled its log back or shows another history than before: keep the checkpoint it signed ('keyblob escrow checkpoint' printed it) as evidence, and tell its operator"},
	{authority.ErrSchema, anyScope, "--db must be a backup authority's database made by this version of keyblob"},

	// Sealed messages.
	{seal.ErrNeedPassphrase, anyScope, "open it with -p (asks on the terminal) or --" + messagePassphraseFlag + " FILE"},
	{seal.ErrNoMatch, anyScope, "open with -i YOUR-IDENTITY (repeatable); 'keyblob inspect FILE' lists the recipients"},
	{replay.ErrReplay, anyScope, "this message was opened before with --once: it may be a replay"},
	{sqlitecache.ErrSchema, anyScope, "remove the file to start a new replay cache, or choose another with --replay-db FILE"},

	// Encrypted files.
	{keyblob.ErrWrongSessionKey, anyScope, "'keyblob inspect FILE' shows the serial of the key a file needs"},

	// Channels.
	{channel.ErrUnauthorized, anyScope, "the server accepts only the clients in its --authorized file: give the server's operator your recipient line ('keyblob pubkey' or 'keyblob id show NAME')"},
	{channel.ErrAuth, "channel connect", "check --server: it must be the server's recipient; otherwise someone in between changed the traffic"},
	{channel.ErrNotSigned, "channel connect", "the seed server has no signing identity: start it with -i IDENTITY, or connect with --insecure if you accept an unauthenticated server"},
	{channel.ErrHandshake, anyScope, "both ends must use the same --profile; a v2 server that refused the client (--authorized) closes during the handshake"},
	{channel.ErrTruncated, anyScope, "the connection was cut without the channel's close: what arrived may be incomplete"},
	{channel.ErrIdle, anyScope, "the peer sent nothing for too long (--idle-timeout)"},
	{channel.ErrKeyLimit, anyScope, "the session sealed all the data its keys may: connect again for new keys"},

	// The system.
	{syscall.ENOSPC, anyScope, diskFullFileHint},
	{fs.ErrPermission, anyScope, "permission denied: check the owner and mode of the file and of its directory (ls -l)"},
	{fs.ErrNotExist, anyScope, "check the file name"},

	// Input that is not what the command reads; inspect's own, which is
	// where the hint below sends the user.
	{inspect.ErrUnknown, "inspect", inspectKnows},
	{inspect.ErrTooLarge, "inspect", inspectKnows},
	{inspect.ErrEncryptedKey, "inspect", "decrypt it with 'openssl pkey -in FILE -out PLAIN' to use it as an identity"},
	{keyblob.ErrMalformed, "inspect", "the file is damaged or cut short, or it is not the kind of file it starts as"},
	{keyblob.ErrMalformed, anyScope, "'keyblob inspect {file}' tells what the file is"},
}

// inspectKnows is the hint for a file that inspect does not know.
const inspectKnows = "inspect knows identities, recipient lines and public keys, session keys, key blobs, " +
	"encrypted files, sealed messages, the key store's files (NAME.id, NAME.gens, NAME.rcpt, NAME.blob), " +
	"the FILE.params of 'session derive', and X.509 certificates and certificate requests (PEM)"

// reportError prints err in the keyblob format and returns the exit
// status. cmd is the command that failed (cmdName), "" if none ran. The
// message is err's text, never rewritten.
func reportError(stderr io.Writer, cmd string, err error) int {
	msg := err.Error()
	fmt.Fprintf(stderr, "keyblob: error: %s\n", msg)
	if hint := hintFor(cmd, err); hint != "" {
		fmt.Fprintf(stderr, "keyblob: hint: %s\n", hint)
	}
	var u *usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

// The disk-full hints: an output file is written atomically, so nothing
// of it was kept; a stream (stdout, a device, a pipe) keeps what was
// written before the error.
const (
	diskFullFileHint   = "the disk is full: free some space, or write elsewhere (-o FILE; TMPDIR for the temporary file); nothing was kept"
	diskFullStreamHint = "the disk is full: free some space, or write elsewhere (-o FILE); partial output may have been written: do not use it"
)

// diskFull gives a disk-full err the stream's hint unless the command's
// output was a file (toFile); other errors are returned unchanged.
func diskFull(err error, toFile bool) error {
	if toFile || !errors.Is(err, syscall.ENOSPC) {
		return err
	}
	return withHint(err, diskFullStreamHint)
}

// hintFor returns the hint for err: the call site's (withHint), else the
// table's, else the call site's fallback (withFallbackHint).
func hintFor(cmd string, err error) string {
	var h *hintError
	explicit := errors.As(err, &h)
	if explicit && !h.fallback {
		return h.hint
	}
	var s *storeErr
	inStore := errors.As(err, &s)
	for _, row := range hints {
		if !errors.Is(err, row.err) {
			continue
		}
		if row.scope == anyScope || row.scope == cmd || (row.scope == storeScope && inStore) {
			file := "FILE"
			var f *fileError
			if errors.As(err, &f) {
				file = f.hint
			}
			return strings.ReplaceAll(row.hint, "{file}", file)
		}
	}
	if explicit {
		return h.hint
	}
	return ""
}

// hintError is an error with advice for the user.
type hintError struct {
	err      error
	hint     string
	fallback bool // only if the table has no hint for err
}

func (h *hintError) Error() string { return h.err.Error() }
func (h *hintError) Unwrap() error { return h.err }

// withHint attaches a hint that depends on the call site to err; it wins
// over the table. A nil err stays nil.
func withHint(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return &hintError{err: err, hint: fmt.Sprintf(format, args...)}
}

// withFallbackHint attaches a hint to err for when the table has none.
func withFallbackHint(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return &hintError{err: err, hint: fmt.Sprintf(format, args...), fallback: true}
}

// usageError marks a command line the user must change; it exits 2.
type usageError struct{ msg string }

func (u *usageError) Error() string { return u.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// fileError is err about a file: "NAME: err". name is how messages show
// the file, hint how a hint's command names it ({file}): for stdin,
// "stdin" and FILE, since a hint's command cannot read stdin again.
type fileError struct {
	name, hint string
	err        error
}

func (f *fileError) Error() string { return f.name + ": " + f.err.Error() }
func (f *fileError) Unwrap() error { return f.err }

// inFile says which file argument err is about ("" or "-" for stdin); a
// nil err stays nil.
func inFile(name string, err error) error {
	if err == nil {
		return nil
	}
	return &fileError{name: shownName(name), hint: hintName(name), err: err}
}

// storeErr marks an error of the key store, for the hints of storeScope.
type storeErr struct{ err error }

func (s *storeErr) Error() string { return s.err.Error() }
func (s *storeErr) Unwrap() error { return s.err }

// storeError marks err as the key store's; a nil err stays nil.
func storeError(err error) error {
	if err == nil {
		return nil
	}
	return &storeErr{err}
}

// importError says why the blob in the file argument name was refused.
func importError(name string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, keyblob.ErrAuth):
		err = fmt.Errorf("refused: the key blob failed authentication: it was modified, or it was not made for this key (%w)", err)
	case errors.Is(err, keyblob.ErrNotSigned), errors.Is(err, keyblob.ErrWrongSigner):
		err = fmt.Errorf("refused: %w", err)
	}
	return inFile(name, err)
}

// decryptError says why a file did not decrypt.
func decryptError(err error) error {
	switch {
	case errors.Is(err, keyblob.ErrAuth):
		return fmt.Errorf("decryption failed: the file was modified, truncated or extended (%w)", err)
	case errors.Is(err, keyblob.ErrWrongSessionKey):
		return err
	case errors.Is(err, format.ErrSpaceNotArmor):
		return err // keyblob.DearmorEncrypted says it is no encrypted file
	case errors.Is(err, keyblob.ErrArmor):
		return fmt.Errorf("%w: %w", keyblob.ErrMalformedEncryptedFile, err)
	}
	return fmt.Errorf("decrypting: %w", err)
}

// openError says why a message did not open.
func openError(err error) error {
	if errors.Is(err, seal.ErrAuth) {
		return fmt.Errorf("%w: the message was modified, truncated or not made by its sender", err)
	}
	return err
}
