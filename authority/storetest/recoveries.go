package storetest

import (
	"testing"
	"time"

	"github.com/keyblob/keyblob/authority"
	"github.com/keyblob/keyblob/authority/api"
)

func testRecoveries(t *testing.T, e *env) {
	ctx := t.Context()
	o := mustCreate(t, e.s, newOwner())
	o.Failures, o.LastFailure = 4, now()
	_, err := e.s.UpdateOwner(ctx, o, entry(api.AuditCodeAttempt, o.ID, `{}`))
	is(t, "UpdateOwner", err, nil)
	o.Version++
	r := newRecovery(o)
	sn := serial()
	r.Serial = &sn
	same(t, "owner with failures", ownerOf(t, e.s, o.ID), o)
	reset := o
	reset.Failures, reset.LastFailure = 0, time.Time{}
	got, err := e.s.CreateRecovery(ctx, r, reset, entry(api.AuditRecoveryRequest, o.ID, `{}`))
	is(t, "CreateRecovery", err, nil)
	if got.Seq != 3 {
		t.Fatalf("CreateRecovery's entry has seq %d, want 3", got.Seq)
	}
	r.Version = 1
	read, err := e.s.Recovery(ctx, r.ID)
	is(t, "Recovery", err, nil)
	same(t, "recovery request", read, r)
	reset.Version++
	same(t, "owner after CreateRecovery", ownerOf(t, e.s, o.ID), reset)

	all := newRecovery(reset)
	_, err = e.s.CreateRecovery(ctx, all, reset, entry(api.AuditRecoveryRequest, o.ID, `{}`))
	is(t, "a request for every key", err, nil)
	all.Version, reset.Version = 1, reset.Version+1
	read, _ = e.s.Recovery(ctx, all.ID)
	same(t, "request for every key", read, all)

	dup := newRecovery(reset)
	dup.ID = r.ID
	_, err = e.s.CreateRecovery(ctx, dup, reset, entry(api.AuditRecoveryRequest, o.ID, `{}`))
	is(t, "a request id used twice", err, authority.ErrExists)
	same(t, "owner after a refused request", ownerOf(t, e.s, o.ID), reset)
	_, err = e.s.CreateRecovery(ctx, newRecovery(o), o, entry(api.AuditRecoveryRequest, o.ID, `{}`))
	is(t, "a request with a stale owner", err, authority.ErrConflict)
	_, err = e.s.Recovery(ctx, requestID())
	is(t, "an unknown request", err, api.ErrNotFound)
	completed := newRecovery(reset)
	completed.State, completed.Completed = authority.RecoveryCompleted, now()
	_, err = e.s.CreateRecovery(ctx, completed, reset, entry(api.AuditRecoveryRequest, o.ID, `{}`))
	is(t, "a new request that is completed", err, api.ErrInvalid)
	elsewhere := newRecovery(mustCreate(t, e.s, newOwner()))
	_, err = e.s.CreateRecovery(ctx, elsewhere, reset, entry(api.AuditRecoveryRequest, o.ID, `{}`))
	is(t, "a request for another owner than the one swapped", err, api.ErrInvalid)
	verify(t, e.s, 5)
}

func testApprovals(t *testing.T, e *env) {
	ctx := t.Context()
	r, _ := mustRecovery(t, e.s, mustCreate(t, e.s, newOwner()))
	var want []authority.Approval
	base := now()
	for i := range 5 {
		// Later approvals are dated earlier: the order is the order added.
		a := authority.Approval{Operator: fp(), Time: base.Add(-time.Duration(i) * time.Second)}
		_, err := e.s.AddApproval(ctx, r.ID, a, entry(api.AuditApproval, r.Owner, `{}`))
		is(t, "AddApproval", err, nil)
		want = append(want, a)
	}
	_, err := e.s.AddApproval(ctx, r.ID, authority.Approval{Operator: want[2].Operator, Time: now()},
		entry(api.AuditApproval, r.Owner, `{}`))
	is(t, "a second approval by one operator", err, authority.ErrExists)
	_, err = e.s.AddApproval(ctx, requestID(), authority.Approval{Operator: fp(), Time: now()},
		entry(api.AuditApproval, r.Owner, `{}`))
	is(t, "an approval of an unknown request", err, api.ErrNotFound)
	read, _ := e.s.Recovery(ctx, r.ID)
	same(t, "approvals", read.Approvals, want)

	stores := []authority.Store{e.s, e.reopen()}
	op := fp()
	errs := race(racers, func(i int) error {
		_, err := stores[i%2].AddApproval(t.Context(), r.ID, authority.Approval{Operator: op, Time: now()},
			entry(api.AuditApproval, r.Owner, `{}`))
		return err
	})
	oneWins(t, "racing approvals by one operator", errs, authority.ErrExists)
	read, _ = e.s.Recovery(ctx, r.ID)
	if len(read.Approvals) != 6 || read.Approvals[5].Operator != op {
		t.Fatalf("after the race: %d approvals", len(read.Approvals))
	}
	verify(t, e.s, 2+6)
}

// complete returns r completed and o re-bound to r's new identity.
func complete(r authority.Recovery, o authority.Owner) (authority.Recovery, authority.Owner) {
	r.State, r.Completed = authority.RecoveryCompleted, now()
	o.Recipient, o.Signer, o.Verifier, o.Failures = r.To, r.ToSigner, verifier(), 0
	return r, o
}

func testCompleteRecovery(t *testing.T, e *env) {
	ctx := t.Context()
	old := mustCreate(t, e.s, newOwner())
	mustDeposit(t, e.s, old, serial())
	r, o := mustRecovery(t, e.s, old)
	_, err := e.s.AddApproval(ctx, r.ID, authority.Approval{Operator: fp(), Time: now()}, entry(api.AuditApproval, o.ID, `{}`))
	is(t, "AddApproval", err, nil)
	approvals := ownerRecovery(t, e.s, r).Approvals

	done, rebound := complete(r, o)
	got, err := e.s.CompleteRecovery(ctx, done, rebound, entry(api.AuditRecovery, o.ID, `{}`))
	is(t, "CompleteRecovery", err, nil)
	if got.Seq != 5 || got.Kind != api.AuditRecovery {
		t.Fatalf("CompleteRecovery's entry: %+v", got)
	}
	done.Version, rebound.Version, done.Approvals = 2, rebound.Version+1, approvals
	same(t, "completed request", ownerRecovery(t, e.s, r), done)
	same(t, "re-bound owner, by the new key", ownerOf(t, e.s, r.ToSigner), rebound)
	same(t, "re-bound owner, by the retired key", ownerOf(t, e.s, old.Signer), rebound)

	_, err = e.s.CompleteRecovery(ctx, done, rebound, entry(api.AuditRecovery, o.ID, `{}`))
	is(t, "completing a completed request", err, authority.ErrConflict)
	_, err = e.s.AddApproval(ctx, r.ID, authority.Approval{Operator: fp(), Time: now()}, entry(api.AuditApproval, o.ID, `{}`))
	is(t, "approving a completed request", err, authority.ErrConflict)
	d := authority.Deposit{Owner: o.ID, Serial: serial(), Blob: []byte{1}, Signer: old.Signer, Created: now(), Deposited: now()}
	_, err = e.s.PutDeposit(ctx, nonce(), d, entry(api.AuditDeposit, o.ID, `{}`))
	is(t, "a deposit signed by the retired key", err, authority.ErrConflict)
	d.Signer = r.ToSigner
	_, err = e.s.PutDeposit(ctx, nonce(), d, entry(api.AuditDeposit, o.ID, `{}`))
	is(t, "a deposit signed by the new key", err, nil)

	// A new identity that is bound already (here: to another owner)
	// leaves everything as it was.
	other := mustCreate(t, e.s, newOwner())
	r2, o2 := mustRecovery(t, e.s, rebound)
	r2.ToSigner = other.Signer
	done2, rebound2 := complete(r2, o2)
	_, err = e.s.CompleteRecovery(ctx, done2, rebound2, entry(api.AuditRecovery, o.ID, `{}`))
	is(t, "binding a key bound to another owner", err, authority.ErrExists)
	if read := ownerRecovery(t, e.s, r2); read.State != authority.RecoveryPending || read.Version != 1 {
		t.Fatalf("a refused completion changed the request: %+v", read)
	}
	same(t, "owner after a refused completion", ownerOf(t, e.s, o.ID), o2)
	same(t, "the other owner", ownerOf(t, e.s, other.ID), other)

	r3, o3 := mustRecovery(t, e.s, o2)
	done3, rebound3 := complete(r3, o3)
	rebound3.Signer = old.Signer
	_, err = e.s.CompleteRecovery(ctx, done3, rebound3, entry(api.AuditRecovery, o.ID, `{}`))
	is(t, "binding the owner's own retired key again", err, authority.ErrExists)
	stale := o3
	stale.Version--
	done3, rebound3 = complete(r3, stale)
	_, err = e.s.CompleteRecovery(ctx, done3, rebound3, entry(api.AuditRecovery, o.ID, `{}`))
	is(t, "completing with a stale owner", err, authority.ErrConflict)
	done3, rebound3 = complete(r3, o3)
	done3.Version = 7
	_, err = e.s.CompleteRecovery(ctx, done3, rebound3, entry(api.AuditRecovery, o.ID, `{}`))
	is(t, "completing a stale request", err, authority.ErrConflict)
	done3.ID, done3.Version = requestID(), 1
	_, err = e.s.CompleteRecovery(ctx, done3, rebound3, entry(api.AuditRecovery, o.ID, `{}`))
	is(t, "completing an unknown request", err, api.ErrNotFound)
	pending, _ := complete(r3, o3)
	pending.State, pending.Completed = authority.RecoveryPending, time.Time{}
	_, err = e.s.CompleteRecovery(ctx, pending, rebound3, entry(api.AuditRecovery, o.ID, `{}`))
	is(t, "completing into the pending state", err, api.ErrInvalid)
	verify(t, e.s, 9)
}

func ownerRecovery(t *testing.T, s authority.Store, r authority.Recovery) authority.Recovery {
	t.Helper()
	read, err := s.Recovery(t.Context(), r.ID)
	if err != nil {
		t.Fatalf("Recovery: %v", err)
	}
	return read
}

// testCompleteRecoveryRace races completions of one request, and of two
// requests of one owner, on two instances: one wins each time.
func testCompleteRecoveryRace(t *testing.T, e *env) {
	stores := []authority.Store{e.s, e.reopen()}
	r, o := mustRecovery(t, e.s, mustCreate(t, e.s, newOwner()))
	errs := race(racers, func(i int) error {
		done, rebound := complete(r, o)
		_, err := stores[i%2].CompleteRecovery(t.Context(), done, rebound, entry(api.AuditRecovery, o.ID, `{}`))
		return err
	})
	oneWins(t, "racing completions of one request", errs, authority.ErrConflict)

	o = ownerOf(t, e.s, o.ID)
	requests := make([]authority.Recovery, racers)
	for i := range requests {
		requests[i], o = mustRecovery(t, e.s, o)
	}
	errs = race(racers, func(i int) error {
		done, rebound := complete(requests[i], o)
		_, err := stores[i%2].CompleteRecovery(t.Context(), done, rebound, entry(api.AuditRecovery, o.ID, `{}`))
		return err
	})
	w := oneWins(t, "racing completions of one owner's requests", errs, authority.ErrConflict)
	if got := ownerOf(t, stores[1], o.ID); got.Signer != requests[w].ToSigner {
		t.Fatalf("the owner is bound to %s, the winner was %s", got.Signer, requests[w].ToSigner)
	}
	verify(t, e.s, 1+1+1+racers+1)
}

// testCancelRecovery cancels a pending request once: a second cancel, a
// stale version and a completion after it are ErrConflict, an unknown
// request ErrNotFound, and the request reads back cancelled.
func testCancelRecovery(t *testing.T, e *env) {
	ctx := t.Context()
	o := mustCreate(t, e.s, newOwner())
	r := newRecovery(o)
	_, err := e.s.CreateRecovery(ctx, r, o, entry(api.AuditRecoveryRequest, o.ID, `{}`))
	is(t, "CreateRecovery", err, nil)
	o.Version++
	r.Version = 1
	cancelled := r
	cancelled.State, cancelled.Completed = authority.RecoveryCancelled, now()
	stale := cancelled
	stale.Version = 7
	_, err = e.s.CancelRecovery(ctx, stale, entry(api.AuditCancel, o.ID, `{}`))
	is(t, "a stale cancel", err, authority.ErrConflict)
	_, err = e.s.CancelRecovery(ctx, r, entry(api.AuditCancel, o.ID, `{}`))
	is(t, "a cancel that is not cancelled", err, api.ErrInvalid)
	_, err = e.s.CancelRecovery(ctx, cancelled, entry(api.AuditCancel, o.ID, `{}`))
	is(t, "CancelRecovery", err, nil)
	read, err := e.s.Recovery(ctx, r.ID)
	is(t, "Recovery", err, nil)
	same(t, "cancelled request", read, withRecoveryVersion(cancelled, 2))
	again := withRecoveryVersion(cancelled, 2)
	_, err = e.s.CancelRecovery(ctx, again, entry(api.AuditCancel, o.ID, `{}`))
	is(t, "a second cancel", err, authority.ErrConflict)
	done, owner := complete(withRecoveryVersion(r, 2), o)
	_, err = e.s.CompleteRecovery(ctx, done, owner, entry(api.AuditRecovery, o.ID, `{}`))
	is(t, "completing a cancelled request", err, authority.ErrConflict)
	unknown := cancelled
	unknown.ID = requestID()
	_, err = e.s.CancelRecovery(ctx, unknown, entry(api.AuditCancel, o.ID, `{}`))
	is(t, "an unknown request", err, api.ErrNotFound)
	verify(t, e.s, 3)
}

func withRecoveryVersion(r authority.Recovery, v int64) authority.Recovery {
	r.Version = v
	return r
}
