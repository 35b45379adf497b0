package authority

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority/api"
)

// Owner is one client account: the identity it is bound to now, and its
// recovery code's verifier.
type Owner struct {
	// ID is the signature-key fingerprint of the identity the owner
	// enrolled with; it never changes.
	ID keyblob.Fingerprint
	// Recipient is the recipient line of the current identity, and
	// Signer the fingerprint of its signature key.
	Recipient string
	Signer    keyblob.Fingerprint
	// Verifier is the recovery code's verifier (spec/escrow-api.md
	// section 5); the store does not interpret it.
	Verifier []byte
	// Failures counts the failed code checks since the last correct
	// code, and LastFailure is the time of the last (zero if none): the
	// service throttles an owner's checks by them (spec/escrow-api.md
	// section 5.4).
	Failures    int
	LastFailure time.Time
	Created     time.Time
	Version     int64
}

// Validate reports ErrInvalid for an owner a Store refuses.
func (o *Owner) Validate() error {
	return firstError(
		key("owner id", o.ID), key("signer", o.Signer),
		text("recipient line", o.Recipient, 1, api.MaxRecipientLine),
		bytesLen("verifier", o.Verifier, 1, api.MaxVerifier),
		count("failure count", o.Failures), when("creation time", o.Created), optionalWhen("failure time", o.LastFailure))
}

// optionalWhen is when for a time that may be zero (none).
func optionalWhen(what string, t time.Time) error {
	if t.IsZero() {
		return nil
	}
	return when(what, t)
}

// Deposit is one session key of one owner, as the owner sent it.
type Deposit struct {
	Owner       keyblob.Fingerprint
	Serial      keyblob.Serial
	Description string
	// Blob is the binary key blob, wrapped to the authority.
	Blob []byte
	// Signer is the signature key that signed the blob and the request.
	Signer keyblob.Fingerprint
	// Created is the blob's creation time, Deposited when it was stored.
	Created   time.Time
	Deposited time.Time
	// Seq is the Seq of its deposit audit entry, set by the Store.
	Seq uint64
}

// Validate reports ErrInvalid for a deposit a Store refuses.
func (d *Deposit) Validate() error {
	return firstError(
		key("owner", d.Owner), key("signer", d.Signer),
		text("description", d.Description, 0, api.MaxDescription),
		bytesLen("key blob", d.Blob, 1, api.MaxBlob),
		when("creation time", d.Created), when("deposit time", d.Deposited))
}

// RecoveryState is the stored state of a recovery request. Whether a
// pending request is approved, or expired, the service decides from its
// approvals and its Expires.
type RecoveryState uint8

// The states of a recovery request.
const (
	RecoveryPending   RecoveryState = 1
	RecoveryCompleted RecoveryState = 2
	// RecoveryCancelled: the owner cancelled it; it can never complete.
	RecoveryCancelled RecoveryState = 3
)

// String returns "pending", "completed" or "cancelled".
func (s RecoveryState) String() string {
	switch s {
	case RecoveryPending:
		return "pending"
	case RecoveryCompleted:
		return "completed"
	case RecoveryCancelled:
		return "cancelled"
	}
	return fmt.Sprintf("RecoveryState(%d)", uint8(s))
}

// Recovery is a recovery request: an owner's keys to be re-wrapped to a
// new identity, which the owner is then bound to.
type Recovery struct {
	ID    api.RequestID
	Owner keyblob.Fingerprint
	// OldSigner is the owner's Signer when the request was made.
	OldSigner keyblob.Fingerprint
	// To is the new identity's recipient line, ToSigner its signature
	// key's fingerprint.
	To       string
	ToSigner keyblob.Fingerprint
	// Serial, if not nil, is the one key to recover.
	Serial  *keyblob.Serial
	State   RecoveryState
	Created time.Time
	// Completable is when the request can be completed at the earliest:
	// Created plus the recovery delay in force when it was made.
	Completable time.Time
	Expires     time.Time
	Completed   time.Time // when it was completed or cancelled; zero while pending
	// Policy is the version of the recovery policy in force when the
	// request was made (0: none was stored), and Quorum and Operators
	// are what it required: the approvals that complete it.
	Policy    uint64
	Quorum    int
	Operators []keyblob.Fingerprint
	Version   int64
	// Approvals are read from the store, in the order they were added;
	// a Store ignores them when it writes a request.
	Approvals []Approval
}

// Validate reports ErrInvalid for a recovery request a Store refuses.
func (r *Recovery) Validate() error {
	var state error
	switch {
	case r.State != RecoveryPending && r.State != RecoveryCompleted && r.State != RecoveryCancelled:
		state = fmt.Errorf("%w: recovery state %d", api.ErrInvalid, r.State)
	case (r.State != RecoveryPending) != !r.Completed.IsZero():
		state = fmt.Errorf("%w: a recovery has an end time if and only if it is completed or cancelled", api.ErrInvalid)
	case r.State != RecoveryPending:
		state = when("end time", r.Completed)
	case r.Completable.Before(r.Created):
		state = fmt.Errorf("%w: a recovery is completable only after it was made", api.ErrInvalid)
	}
	return firstError(
		id16("request id", r.ID), key("owner", r.Owner),
		key("old signer", r.OldSigner), key("new signer", r.ToSigner),
		text("recipient line", r.To, 1, api.MaxRecipientLine),
		when("creation time", r.Created), when("completable time", r.Completable), when("expiry time", r.Expires), state,
		sortedKeys(r.Operators), quorum(r.Quorum, len(r.Operators)))
}

func quorum(k, n int) error {
	if k < 0 || k > n {
		return fmt.Errorf("%w: a quorum of %d among %d operators", api.ErrInvalid, k, n)
	}
	return nil
}

// Approval is one operator's approval of a recovery request.
type Approval struct {
	Operator keyblob.Fingerprint
	Time     time.Time
}

// Validate reports ErrInvalid for an approval a Store refuses.
func (a *Approval) Validate() error {
	return firstError(key("operator", a.Operator), when("approval time", a.Time))
}

// Nonce is one use of a signed request's nonce by its signer.
type Nonce struct {
	Signer keyblob.Fingerprint
	Value  [16]byte
	// Expires is when the request carrying it falls out of the time
	// window, after which the nonce may be forgotten.
	Expires time.Time
}

// Validate reports ErrInvalid for a nonce a Store refuses.
func (n *Nonce) Validate() error {
	return firstError(key("signer", n.Signer), when("expiry time", n.Expires))
}

// CheckPage reports ErrInvalid for a page size outside 1 to MaxPage.
func CheckPage(limit int) error {
	if limit < 1 || limit > api.MaxPage {
		return fmt.Errorf("%w: page of %d (allowed 1 to %d)", api.ErrInvalid, limit, api.MaxPage)
	}
	return nil
}

func when(what string, t time.Time) error {
	if !api.InTimeRange(t) {
		return fmt.Errorf("%w: %s %s is outside 1970 to 2262", api.ErrInvalid, what, api.FormatTime(t))
	}
	return nil
}

func key(what string, f [32]byte) error {
	if f == ([32]byte{}) {
		return fmt.Errorf("%w: no %s (a zero value)", api.ErrInvalid, what)
	}
	return nil
}

func id16(what string, b [16]byte) error {
	if b == ([16]byte{}) {
		return fmt.Errorf("%w: no %s (a zero value)", api.ErrInvalid, what)
	}
	return nil
}

func text(what, s string, lo, hi int) error { return length(what, len(s), lo, hi) }

func bytesLen(what string, b []byte, lo, hi int) error { return length(what, len(b), lo, hi) }

func length(what string, n, lo, hi int) error {
	if n < lo || n > hi {
		return fmt.Errorf("%w: %s of %d bytes (allowed %d to %d)", api.ErrInvalid, what, n, lo, hi)
	}
	return nil
}

func count(what string, n int) error {
	if n < 0 || n > math.MaxInt32 {
		return fmt.Errorf("%w: %s %d", api.ErrInvalid, what, n)
	}
	return nil
}

func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Policy is a version of the recovery policy stored with the authority
// (spec/escrow-api.md section 7.15): how many distinct operators, among
// which, must approve a recovery, and how long after it was made it can
// be completed. Every version is kept; the newest is in force.
type Policy struct {
	// Version is 1 for the first policy stored, one more for each next;
	// 0 for a policy that is not stored (a Service's Config).
	Version uint64
	Quorum  int
	// Operators are the operators' signature-key fingerprints, sorted,
	// each once.
	Operators []keyblob.Fingerprint
	Delay     time.Duration
	Set       time.Time
}

// Validate reports ErrInvalid for a policy a Store refuses.
func (p *Policy) Validate() error {
	switch {
	case p.Version == 0 || p.Version > 1<<62:
		return fmt.Errorf("%w: policy version %d", api.ErrInvalid, p.Version)
	case p.Quorum < 0 || p.Quorum > len(p.Operators):
		return fmt.Errorf("%w: a quorum of %d among %d operators", api.ErrInvalid, p.Quorum, len(p.Operators))
	case p.Delay < 0 || len(p.Operators) > maxOperators:
		return fmt.Errorf("%w: policy delay %v, %d operators", api.ErrInvalid, p.Delay, len(p.Operators))
	}
	return firstError(sortedKeys(p.Operators), when("policy time", p.Set))
}

// maxOperators bounds a policy's operators.
const maxOperators = 256

// Same reports whether p and q require the same: quorum, operators and
// delay (their versions and times aside).
func (p *Policy) Same(q *Policy) bool {
	return p.Quorum == q.Quorum && p.Delay == q.Delay && slices.Equal(p.Operators, q.Operators)
}

// sortedKeys reports ErrInvalid unless fps are non-zero, sorted and
// distinct.
func sortedKeys(fps []keyblob.Fingerprint) error {
	for i, fp := range fps {
		if fp.IsZero() || i > 0 && bytes.Compare(fps[i-1][:], fp[:]) >= 0 {
			return fmt.Errorf("%w: operators not sorted, repeated or zero", api.ErrInvalid)
		}
	}
	return nil
}
