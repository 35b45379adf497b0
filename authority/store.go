package authority

import (
	"context"
	"errors"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority/api"
)

// Store keeps the backup authority's records: owners and the signature
// keys bound to them, deposits, recovery requests and their approvals,
// used request nonces, and the audit log. Its methods are the contract
// every backend (sqlitestore, pgstore) meets and the conformance suite
// (storetest) checks:
//
//   - Durable on return. A method that returns nil has committed all its
//     changes to stable storage: a crash, a power cut or SIGKILL after it
//     returns loses none of them.
//   - Atomic. A method makes all of its changes (the record, the
//     compare-and-swap, the binding, the audit entry) or none. When it
//     returns an error, or its ctx is cancelled, it made none, or, if the
//     error came from the commit itself, possibly all: callers retry
//     through the idempotent paths (nonces, ErrExists, versions).
//   - Safe for concurrent use by goroutines and by several processes, or
//     several serve instances, sharing one database. Every guarantee
//     below holds across all of them.
//   - First use wins. UseNonce, and PutDeposit for its request's nonce,
//     make an atomic first-use insert: of concurrent uses of one (signer,
//     nonce), by either method, exactly one succeeds and the others
//     return ErrReplay. Likewise exactly one of concurrent
//     CreateOwner calls binding one signature key succeeds, one of
//     concurrent PutDeposit calls of one (owner, serial), and one of
//     concurrent AddApproval calls of one (request, operator); the others
//     return ErrExists.
//   - Compare-and-swap where records change. Owners and recovery
//     requests carry a Version, 1 when created and incremented by exactly
//     one with every change; UpdateOwner, CreateRecovery and
//     CompleteRecovery change them only if the stored Version is the one
//     the caller read, and return ErrConflict otherwise, so that of
//     concurrent changes made from one read exactly one wins.
//   - One audit log, chained. Every method that takes an AuditEntry
//     appends it in the same transaction as the change it records, sets
//     its Seq to the next sequence number (consecutive from 1, no gaps, in
//     commit order), its Prev to the previous entry's Hash and its Hash
//     by AuditEntry.Chain, its Salt to 16 random bytes, and returns it
//     so. The caller fills Time, Kind, Owner, Actor, Ref and Detail;
//     whatever it put in Seq, Prev, Hash and Salt is ignored.
//   - One Merkle tree over the log. In that same transaction the store
//     adds the entry's leaf (api.LeafData) to the tree, as leaf Seq-1,
//     keeping the hashes tlog.StoredHashes returns at their
//     StoredHashIndex, and records the tree's size and root in the
//     head: once the method returns, the tree of every size up to the
//     head's is fixed, and stored hashes never change.
//   - Exact. Strings and byte slices are stored and returned byte for
//     byte, whatever they hold (NUL, invalid UTF-8, control characters,
//     SQL metacharacters): the store interprets none of them. Times are
//     kept to the nanosecond and returned in UTC. A record outside the
//     bounds of its Validate method (lengths, zero keys, times outside
//     1970 to 2262) is refused with ErrInvalid before anything changes.
//
// Errors are the sentinels below, matched with errors.Is, or errors of
// the database (unreachable, disk full), which callers report as server
// errors. A Store is closed once with Close; no method may be called
// after it.
type Store interface {
	// Reports are the console's read queries (reports.go).
	Reports

	// UseNonce records the first use of n.Value by n.Signer, to be kept
	// at least until n.Expires. It returns ErrReplay if that signer used
	// that nonce before and the entry has not been purged.
	UseNonce(ctx context.Context, n Nonce) error
	// PurgeNonces forgets the nonces whose Expires is before before.
	PurgeNonces(ctx context.Context, before time.Time) error

	// CreateOwner stores a new owner, whose ID and Signer must be equal
	// (an owner's id is its first signature key), with Version 1, and
	// binds o.Signer to it. It returns ErrExists, and changes nothing, if
	// that signature key is already bound to any owner, current or
	// retired.
	CreateOwner(ctx context.Context, o Owner, e api.AuditEntry) (api.AuditEntry, error)
	// Owner returns the owner that the signature-key fingerprint key is,
	// or was ever, bound to (its ID, its current Signer or a retired
	// one), or ErrNotFound. Callers compare key with Owner.Signer to
	// tell a current identity from a retired one.
	Owner(ctx context.Context, key keyblob.Fingerprint) (Owner, error)
	// UpdateOwner stores o's Verifier, Failures and LastFailure if the stored owner
	// o.ID has o.Version and o.Signer, and increments its Version. It
	// returns ErrNotFound if there is no owner o.ID and ErrConflict if
	// its Version or Signer differ. The binding (Recipient, Signer)
	// changes only through CompleteRecovery.
	UpdateOwner(ctx context.Context, o Owner, e api.AuditEntry) (api.AuditEntry, error)

	// PutDeposit records the first use of the deposit request's nonce n,
	// as UseNonce does, and stores d, with d.Seq set to the Seq of e, if
	// d.Signer is the current Signer of owner d.Owner and that owner has
	// no deposit of d.Serial: nonce, deposit and entry in one transaction,
	// so that a deposit is one commit. It returns ErrReplay if n was used
	// before, ErrNotFound if there is no such owner, ErrConflict if
	// d.Signer is not its current Signer, and ErrExists if the owner
	// already has a deposit of that serial (deposits are idempotent on
	// (owner, serial)), in that order of precedence; with any error it
	// stores nothing, the nonce included, so a caller that must use the
	// nonce up whatever the outcome calls UseNonce then.
	PutDeposit(ctx context.Context, n Nonce, d Deposit, e api.AuditEntry) (api.AuditEntry, error)
	// Deposit returns the deposit of serial by owner, or ErrNotFound.
	Deposit(ctx context.Context, owner keyblob.Fingerprint, serial keyblob.Serial) (Deposit, error)
	// Deposits returns at most limit (1 to MaxPage) of owner's deposits
	// whose Seq is greater than after, in increasing Seq.
	Deposits(ctx context.Context, owner keyblob.Fingerprint, after uint64, limit int) ([]Deposit, error)

	// CreateRecovery stores the new recovery request r (Pending, Version
	// 1, no approvals) and, by compare-and-swap as UpdateOwner does, o's
	// Verifier and Failures; r.Owner must be o.ID. It returns ErrExists if
	// a request has r.ID, and ErrNotFound or ErrConflict as UpdateOwner.
	CreateRecovery(ctx context.Context, r Recovery, o Owner, e api.AuditEntry) (api.AuditEntry, error)
	// Recovery returns the recovery request id with its approvals, in the
	// order they were added, or ErrNotFound.
	Recovery(ctx context.Context, id api.RequestID) (Recovery, error)
	// AddApproval records a.Operator's approval of the pending request
	// id. It returns ErrNotFound if there is no such request,
	// ErrConflict if it is not pending, and ErrExists if that operator
	// already approved it.
	AddApproval(ctx context.Context, id api.RequestID, a Approval, e api.AuditEntry) (api.AuditEntry, error)
	// CompleteRecovery marks the request r completed and re-binds its
	// owner, in one transaction: the stored request must be Pending at
	// r.Version and r.State must be RecoveryCompleted, with Completed
	// set; the stored owner r.Owner (= o.ID) must be at o.Version. It
	// stores o's Recipient, Signer, Verifier and Failures, binds o.Signer
	// to the owner (the former Signer stays bound, retired), and
	// increments both Versions. It returns ErrNotFound if the request or
	// the owner does not exist, ErrConflict if either changed, and
	// ErrExists if o.Signer is bound to another owner, or to this one as
	// a retired key; an o.Signer that is the owner's current one stays
	// bound as it is (a recovery to the identity the owner has).
	CompleteRecovery(ctx context.Context, r Recovery, o Owner, e api.AuditEntry) (api.AuditEntry, error)
	// CancelRecovery marks the request r cancelled: the stored request
	// must be Pending at r.Version, and r.State RecoveryCancelled with
	// Completed set to the time of the cancellation. It increments the
	// Version. It returns ErrNotFound if the request does not exist and
	// ErrConflict if it changed or is not pending.
	CancelRecovery(ctx context.Context, r Recovery, e api.AuditEntry) (api.AuditEntry, error)
	// Policy returns the stored recovery policy of version v, the newest
	// for v = 0, or ErrNotFound.
	Policy(ctx context.Context, v uint64) (Policy, error)
	// SetPolicy stores p as the newest policy. p.Version must be the
	// newest stored version plus one (1 for the first); otherwise, or if
	// a concurrent call stored that version first, it returns
	// ErrConflict and stores nothing.
	SetPolicy(ctx context.Context, p Policy, e api.AuditEntry) (api.AuditEntry, error)

	// AppendAudit appends an entry that records no change of the store's
	// records (a release of re-wrapped keys).
	AppendAudit(ctx context.Context, e api.AuditEntry) (api.AuditEntry, error)
	// Audit returns at most limit (1 to MaxPage) entries whose Seq is
	// greater than after, in increasing Seq: every entry if owner is the
	// zero fingerprint, else only the entries whose Owner is owner.
	Audit(ctx context.Context, owner keyblob.Fingerprint, after uint64, limit int) ([]api.AuditEntry, error)

	// AuditHead returns the log's head: its last entry's Seq and Hash,
	// the size of its tree and the tree's root.
	AuditHead(ctx context.Context) (api.AuditHead, error)
	// TreeHashes returns the tree's stored hashes at indexes (at most 256,
	// tlog.StoredHashIndex numbering), in their order; ErrNotFound if one
	// is not stored.
	TreeHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error)

	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
}

// ErrExists is returned when a record that must be unique already exists:
// a bound signature key, a deposit of the same (owner, serial), a request
// id, an operator's second approval of one request.
var ErrExists = errors.New("already exists")

// ErrConflict is returned when a record changed since the caller read it,
// or is not in the state the change needs: the compare-and-swap lost.
var ErrConflict = errors.New("changed since it was read")

// ErrSchema is returned by a backend's Open for a database it cannot use:
// another program's, or one made by a newer version of keyblob.
var ErrSchema = errors.New("not a backup authority database of this version of keyblob")
