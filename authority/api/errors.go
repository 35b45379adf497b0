package api

import (
	"errors"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/replay"
)

// The outcomes of the service's methods that are not successes, one
// sentinel each (spec/escrow-api.md section 8). Service methods return
// them, possibly wrapped with a message (match with errors.Is); the
// handler turns each into its status and code in one table (http.go),
// and the client turns each code back into its sentinel. Malformed input
// is keyblob.ErrMalformed, an unknown or foreign recovery request is
// ErrNotFound, and a replayed request ErrReplay.
var (
	ErrUnauthenticated  = errors.New("the request is not authenticated")
	ErrRequestExpired   = errors.New("the request's time is outside the server's window")
	ErrRecoveryRefused  = errors.New("recovery refused: no such owner, or a wrong recovery code")
	ErrApprovalRefused  = errors.New("approval refused")
	ErrIdentityBound    = errors.New("this identity is already bound to an owner")
	ErrStale            = errors.New("the owner changed since the request was read")
	ErrNotPending       = errors.New("the recovery request is completed, cancelled or expired")
	ErrApprovalPending  = errors.New("the recovery request has fewer approvals than required")
	ErrAlreadyApproved  = errors.New("this operator already approved this request")
	ErrKeysUnavailable  = errors.New("the keys of this recovery request are not available")
	ErrUnusableIdentity = errors.New("the identity lacks the key this request needs")
	ErrBadSealedCode    = errors.New("the sealed recovery code does not open for this request")
	ErrWrongRecipient   = errors.New("the key blob is not wrapped to the authority")
	ErrBadBlobSignature = errors.New("the key blob is not signed by the owner's current identity")
	ErrUnavailable      = errors.New("the authority is unavailable; try again later")
	// ErrStoreUnavailable is a store that answers but cannot write (a
	// full disk, a read-only database, an I/O error): unlike
	// ErrUnavailable, waiting does not help until its operator acts.
	ErrStoreUnavailable = errors.New("the authority cannot write its database")
	ErrTooLarge         = errors.New("the request body is too large")
	ErrMediaType        = errors.New("the request body must be application/json")
	ErrMethod           = errors.New("the path has no such method")
	ErrInternal         = errors.New("internal error")
)

// ErrNotFound is returned for a record that does not exist: an unknown
// or foreign recovery request, a missing owner or deposit.
var ErrNotFound = errors.New("not found")

// ErrReplay is returned for a nonce already used by its signer. It is the
// module's one "already accepted" error (replay.ErrReplay).
var ErrReplay = replay.ErrReplay

// ErrInvalid is returned for a record outside the bounds of spec section
// 9 (see the Validate methods), before anything is changed.
var ErrInvalid = errors.New("invalid record")

// errMalformed is keyblob's one malformed-input sentinel.
var errMalformed = keyblob.ErrMalformed
