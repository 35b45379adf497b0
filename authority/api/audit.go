package api

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/keyblob/keyblob"
)

// AuditKind says what an audit entry records (spec/escrow-api.md section
// 6.3). Kind numbers are never reused.
type AuditKind uint8

// The kinds of audit entries.
const (
	AuditEnroll          AuditKind = 1  // an owner enrolled
	AuditDeposit         AuditKind = 2  // a session key was deposited
	AuditCodeAttempt     AuditKind = 3  // a recovery code is about to be checked
	AuditRecoveryRequest AuditKind = 4  // a correct code opened a recovery request
	AuditApproval        AuditKind = 5  // an operator approved a request
	AuditRecovery        AuditKind = 6  // a recovery completed: the owner re-bound
	AuditRelease         AuditKind = 7  // re-wrapped keys were released
	AuditCancel          AuditKind = 8  // the owner cancelled a recovery request
	AuditThrottleReset   AuditKind = 9  // an operator reset an owner's failed code checks
	AuditPolicy          AuditKind = 10 // a recovery policy was stored (its owner is the authority)
	AuditConsoleSignIn   AuditKind = 11 // an operator signed in to the console with a sign-in link
	AuditConsoleSignOut  AuditKind = 12 // an operator signed out of the console
	AuditConsoleRefused  AuditKind = 13 // a console sign-in link was refused
)

var auditKindNames = [...]string{
	AuditEnroll:          "enroll",
	AuditDeposit:         "deposit",
	AuditCodeAttempt:     "code_attempt",
	AuditRecoveryRequest: "recovery_request",
	AuditApproval:        "approval",
	AuditRecovery:        "recovery",
	AuditRelease:         "release",
	AuditCancel:          "cancel",
	AuditThrottleReset:   "throttle_reset",
	AuditPolicy:          "policy",
	AuditConsoleSignIn:   "console_sign_in",
	AuditConsoleSignOut:  "console_sign_out",
	AuditConsoleRefused:  "console_refused",
}

// Valid reports whether k is one of the kinds above.
func (k AuditKind) Valid() bool { return k >= AuditEnroll && int(k) < len(auditKindNames) }

// String returns the kind's name in the protocol ("deposit").
func (k AuditKind) String() string {
	if !k.Valid() {
		return fmt.Sprintf("AuditKind(%d)", uint8(k))
	}
	return auditKindNames[k]
}

// ParseAuditKind returns the kind whose String is name.
func ParseAuditKind(name string) (AuditKind, error) {
	for k := AuditEnroll; k.Valid(); k++ {
		if auditKindNames[k] == name {
			return k, nil
		}
	}
	return 0, fmt.Errorf("%w audit entry kind %q", keyblob.ErrMalformed, name)
}

// AuditEntry is one entry of the audit log (spec/escrow-api.md section
// 6.1). A zero Actor or Ref stands for none.
type AuditEntry struct {
	Seq   uint64
	Time  time.Time
	Kind  AuditKind
	Owner keyblob.Fingerprint
	Actor keyblob.Fingerprint
	// Ref is a deposit's serial or a recovery request's id.
	Ref [16]byte
	// Detail is a JSON object with the members of the kind; the chain
	// hashes it as bytes.
	Detail string
	// Prev is the Hash of the entry before (zero for the first), and Hash
	// is ChainHash(Prev, entry).
	Prev [32]byte
	Hash [32]byte
	// Salt is random, chosen by the store that appends the entry; it
	// enters the entry's leaf of the transparency log (LeafData), so that
	// the public tree tells nothing about entries a reader might guess.
	Salt [16]byte
}

// Validate reports ErrInvalid for an entry a Store refuses to append.
func (e *AuditEntry) Validate() error {
	switch {
	case !e.Kind.Valid():
		return fmt.Errorf("%w: audit entry kind %d", ErrInvalid, e.Kind)
	case e.Owner.IsZero():
		return fmt.Errorf("%w: no owner (a zero value)", ErrInvalid)
	case !InTimeRange(e.Time):
		return fmt.Errorf("%w: audit time %s is outside 1970 to 2262", ErrInvalid, FormatTime(e.Time))
	case len(e.Detail) > MaxDetail:
		return fmt.Errorf("%w: audit detail of %d bytes (allowed 0 to %d)", ErrInvalid, len(e.Detail), MaxDetail)
	}
	return nil
}

// AuditHead is the last entry of a log: its Seq and Hash; and, where a
// store reports it, its Merkle tree's size (the entries it holds) and
// root. The empty log's head is the zero AuditHead, but for the root.
type AuditHead struct {
	Seq      uint64
	Hash     [32]byte
	TreeSize uint64
	Root     tlog.Hash
}

// auditLabel starts every hashed entry.
const auditLabel = "keyblob/v1 audit entry\x00"

// entrySize is the size of an encoded entry before its detail.
const entrySize = 8 + 1 + 32 + 32 + 16 + 2

// Encode returns the bytes the chain hashes for e (spec/escrow-api.md
// section 6.2): time (u64 nanoseconds), kind, owner, actor, ref and
// u16<detail>. Seq, Prev and Hash are not part of it. It fails with
// ErrInvalid for an entry Validate refuses, whose encoding would not be
// one of an entry the authority wrote.
func (e *AuditEntry) Encode() ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	b := make([]byte, 0, entrySize+len(e.Detail))
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time.UnixNano()))
	b = append(b, byte(e.Kind))
	b = append(b, e.Owner[:]...)
	b = append(b, e.Actor[:]...)
	b = append(b, e.Ref[:]...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(e.Detail)))
	return append(b, e.Detail...), nil
}

// ChainHash returns SHA-256("keyblob/v1 audit entry" || 0x00 || prev ||
// encoding of e), the Hash of e after an entry whose Hash is prev.
func ChainHash(prev [32]byte, e *AuditEntry) ([32]byte, error) {
	enc, err := e.Encode()
	if err != nil {
		return [32]byte{}, err
	}
	h := sha256.New()
	h.Write([]byte(auditLabel))
	h.Write(prev[:])
	h.Write(enc)
	return [32]byte(h.Sum(nil)), nil
}

// Chain returns e as the entry after head: with Seq head.Seq+1, Prev
// head.Hash and its Hash. Backends call it inside the transaction that
// appends e, with the head read there.
func (e AuditEntry) Chain(head AuditHead) (AuditEntry, error) {
	e.Seq, e.Prev = head.Seq+1, head.Hash
	h, err := ChainHash(e.Prev, &e)
	if err != nil {
		return AuditEntry{}, err
	}
	e.Hash = h
	return e, nil
}

// consistent reports whether e's Hash is the hash of its fields after
// its Prev.
func (e *AuditEntry) consistent() bool {
	h, err := ChainHash(e.Prev, e)
	return err == nil && h == e.Hash
}

// ErrChain is matched (errors.Is) by every *ChainError.
var ErrChain = errors.New("the audit log does not verify")

// A ChainProblem says what most likely happened at the first entry where
// a log differs from what the authority wrote (spec/escrow-api.md
// section 6.4).
type ChainProblem uint8

// The problems VerifyChain reports.
const (
	// Deleted: the entry with that Seq is missing.
	Deleted ChainProblem = iota + 1
	// Edited: the entry's fields no longer give its hash.
	Edited
	// Inserted: the entry is not part of the chain; the next one follows
	// the one before it.
	Inserted
	// Broken: the entry is intact but does not follow the one before: that
	// one was rewritten with a new hash, or entries were deleted and the
	// rest renumbered.
	Broken
)

var chainProblems = [...]string{
	Deleted:  "was deleted",
	Edited:   "was edited (its fields do not give its hash)",
	Inserted: "was inserted (the next entry follows the one before it)",
	Broken:   "does not follow the entry before it (that entry was rewritten, or entries before it were deleted)",
}

// ChainError names the first entry at which a log fails to verify.
type ChainError struct {
	Seq     uint64
	Problem ChainProblem
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("%s: entry %d %s", ErrChain, e.Seq, chainProblems[e.Problem])
}

// Is makes errors.Is(err, ErrChain) true.
func (e *ChainError) Is(target error) bool { return target == ErrChain }

// VerifyChain reads a log's entries, in increasing Seq, and checks the
// chain (spec/escrow-api.md section 6.4). It returns the log's head, or a
// *ChainError naming the first deleted, edited, inserted or broken entry,
// or the first error entries yields. It reads one entry ahead of the one
// it checks, and holds no more, so a log of any length verifies in
// constant memory. A chain shows nothing about entries appended, or a
// tail rewritten, by someone who can compute SHA-256: compare the head,
// or the entries receipts name, with anchors kept elsewhere.
func VerifyChain(entries iter.Seq2[AuditEntry, error]) (AuditHead, error) {
	next, stop := iter.Pull2(entries)
	defer stop()
	var head AuditHead
	cur, err, ok := next()
	for ; ok; cur, err, ok = next() {
		if err != nil {
			return head, err
		}
		if problem := checkSeq(head, cur.Seq); problem != nil {
			return head, problem
		}
		if cur.Prev == head.Hash && cur.consistent() {
			head = AuditHead{Seq: cur.Seq, Hash: cur.Hash}
			continue
		}
		after, err, more := next()
		if err != nil {
			return head, err
		}
		return head, diagnose(&cur, more && after.Prev == head.Hash && after.consistent())
	}
	return head, nil
}

// checkSeq reports a missing or repeated sequence number.
func checkSeq(head AuditHead, seq uint64) error {
	switch {
	case seq > head.Seq+1:
		return &ChainError{Seq: head.Seq + 1, Problem: Deleted}
	case seq <= head.Seq:
		return &ChainError{Seq: seq, Problem: Inserted}
	}
	return nil
}

// diagnose names what happened to cur, which does not follow the head;
// skippable says the entry after cur follows the head.
func diagnose(cur *AuditEntry, skippable bool) error {
	switch {
	case skippable:
		return &ChainError{Seq: cur.Seq, Problem: Inserted}
	case !cur.consistent():
		return &ChainError{Seq: cur.Seq, Problem: Edited}
	}
	return &ChainError{Seq: cur.Seq, Problem: Broken}
}

// DepositDetail is the Detail of an AuditDeposit entry (spec section
// 6.3): what was deposited, which a client compares with what it sent.
type DepositDetail struct {
	Serial      string `json:"serial"`
	BlobSHA256  string `json:"blob_sha256"`
	Description string `json:"description"`
	Created     string `json:"created"`
}
