package authority

import (
	"context"
	"errors"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority/api"
)

// Reports are the read queries of the operator console (authority/console),
// part of the Store contract. Each is served by an index, so that it
// costs the same with 100,000 audit entries as with ten, and each bounds
// its answer with a limit of 1 to MaxPage.
type Reports interface {
	// Recoveries returns at most limit requests in state, with their
	// approvals, most recently created first, starting after the request
	// created at before (nanoseconds since 1970; 0: the newest).
	Recoveries(ctx context.Context, state RecoveryState, before int64, limit int) ([]Recovery, error)
	// AuditFiltered returns at most limit entries matching f whose Seq
	// is less than before (0: the newest), in decreasing Seq.
	AuditFiltered(ctx context.Context, f AuditFilter, before uint64, limit int) ([]api.AuditEntry, error)
	// DailyCounts returns, for every UTC day from since on with entries
	// of one of kinds, how many each kind has, in increasing day.
	DailyCounts(ctx context.Context, since time.Time, kinds []api.AuditKind) ([]DayCount, error)
	// Throttled returns at most limit owners with at least failures
	// failed code checks, most failures first.
	Throttled(ctx context.Context, failures int, limit int) ([]Owner, error)
	// OwnerActivity returns how many deposits owner has and its newest
	// audit entry (zero Seq if none); ErrNotFound if there is no owner
	// with that id.
	OwnerActivity(ctx context.Context, owner keyblob.Fingerprint) (Activity, error)
}

// AuditFilter selects audit entries: by kind (0: any), by owner (zero:
// any) and by ref (zero: any).
type AuditFilter struct {
	Kind  api.AuditKind
	Owner keyblob.Fingerprint
	Ref   [16]byte
}

// DayCount is the number of entries of each kind of one UTC day.
type DayCount struct {
	Day    time.Time
	Counts map[api.AuditKind]int
}

// Activity is what the console shows of an owner beside its record.
type Activity struct {
	Deposits int
	Last     api.AuditEntry
}

// Reports returns the store's read queries for the console.
func (s *Service) Reports() Reports { return s.store }

// Status returns the request r with what the service computes of it: its
// state now and the approvals it needs.
func (s *Service) Status(r Recovery) RecoveryStatus { return s.status(r) }

// ThrottledUntil returns when o's next code check may run, zero if at
// once.
func (s *Service) ThrottledUntil(o Owner) time.Time { return s.throttle.until(o) }

// ThrottleAfter returns the failed checks after which an owner waits.
func (s *Service) ThrottleAfter() int { return s.throttle.after }

// Now returns the service's clock.
func (s *Service) Now() time.Time { return s.now() }

// UseConsoleToken records the first use of a console sign-in token (its
// signer and id), kept until expires; api.ErrReplay if it was used.
func (s *Service) UseConsoleToken(ctx context.Context, t *api.ConsoleToken) error {
	return nonceErr(s.store.UseNonce(ctx, Nonce{Signer: t.Auth.Signer, Value: t.Auth.Nonce, Expires: t.Expires().Add(api.MaxSkew)}))
}

// ConsoleEvent appends an audit entry of a console kind (sign-in,
// sign-out, refused sign-in), whose owner is the authority, by actor
// (zero: unknown), with detail marshalled as JSON.
func (s *Service) ConsoleEvent(ctx context.Context, kind api.AuditKind, actor keyblob.Fingerprint, detail any) (api.AuditEntry, error) {
	e, err := s.entry(kind, s.fp, actor, [16]byte{}, detail)
	if err != nil {
		return e, err
	}
	e, err = s.store.AppendAudit(ctx, e)
	return e, storeErr(err)
}

// Approvals returns how many distinct operators of r's policy approved
// r: the K of "K of N".
func (s *Service) Approvals(r Recovery) int {
	_, operators := s.requestPolicy(&r)
	return approvals(r, operators)
}

// LookupOwner returns the owner that the signature-key fingerprint key
// is, or was, bound to, or api.ErrNotFound.
func (s *Service) LookupOwner(ctx context.Context, key keyblob.Fingerprint) (Owner, error) {
	o, err := s.store.Owner(ctx, key)
	if errors.Is(err, api.ErrNotFound) {
		return o, api.ErrNotFound
	}
	return o, storeErr(err)
}
