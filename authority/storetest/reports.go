package storetest

import (
	"testing"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority"
	"github.com/keyblob/keyblob/authority/api"
)

// testReports checks the console's read queries (authority.Reports):
// requests by state and page, filtered audit pages newest first, per-day
// counts, throttled owners and an owner's activity.
func testReports(t *testing.T, e *env) {
	ctx := t.Context()
	o := mustCreate(t, e.s, newOwner())
	other := mustCreate(t, e.s, newOwner())
	mustDeposit(t, e.s, o, serial())
	mustDeposit(t, e.s, o, serial())
	mustDeposit(t, e.s, other, serial())
	first, o := mustRecovery(t, e.s, o)
	time.Sleep(time.Millisecond) // distinct creation times
	second, o := mustRecovery(t, e.s, o)
	op := fp()
	_, err := e.s.AddApproval(ctx, second.ID, authority.Approval{Operator: op, Time: now()}, entry(api.AuditApproval, o.ID, `{}`))
	is(t, "AddApproval", err, nil)

	pending, err := e.s.Recoveries(ctx, authority.RecoveryPending, 0, 10)
	is(t, "Recoveries", err, nil)
	if len(pending) != 2 || pending[0].ID != second.ID || pending[1].ID != first.ID {
		t.Fatalf("pending requests: %d, want the second then the first", len(pending))
	}
	if len(pending[0].Approvals) != 1 || pending[0].Approvals[0].Operator != op {
		t.Fatalf("approvals of the second request: %+v", pending[0].Approvals)
	}
	page, err := e.s.Recoveries(ctx, authority.RecoveryPending, pending[0].Created.UnixNano(), 10)
	if err != nil || len(page) != 1 || page[0].ID != first.ID {
		t.Fatalf("the page after the newest: %d, %v", len(page), err)
	}
	done, err := e.s.Recoveries(ctx, authority.RecoveryCompleted, 0, 10)
	if err != nil || len(done) != 0 {
		t.Fatalf("completed requests: %d, %v", len(done), err)
	}

	// Entries: enroll o, enroll other, 3 deposits, 2 requests, 1 approval.
	all, err := e.s.AuditFiltered(ctx, authority.AuditFilter{}, 0, 100)
	if err != nil || len(all) != 8 || all[0].Seq != 8 || all[7].Seq != 1 {
		t.Fatalf("every entry, newest first: %d, %v", len(all), err)
	}
	deps, err := e.s.AuditFiltered(ctx, authority.AuditFilter{Kind: api.AuditDeposit, Owner: o.ID}, 0, 100)
	if err != nil || len(deps) != 2 || deps[0].Seq != 4 || deps[1].Seq != 3 {
		t.Fatalf("o's deposits: %d, %v", len(deps), err)
	}
	older, err := e.s.AuditFiltered(ctx, authority.AuditFilter{Owner: o.ID}, 4, 1)
	if err != nil || len(older) != 1 || older[0].Seq != 3 {
		t.Fatalf("o's entry before 4: %v, %v", older, err)
	}
	byRef, err := e.s.AuditFiltered(ctx, authority.AuditFilter{Ref: [16]byte{1}}, 0, 10)
	if err != nil || len(byRef) != 0 {
		t.Fatalf("entries of an unknown ref: %d, %v", len(byRef), err)
	}
	same(t, "a filtered entry", all[5], deps[1])

	days, err := e.s.DailyCounts(ctx, now().Add(-48*time.Hour), []api.AuditKind{api.AuditDeposit, api.AuditApproval, api.AuditRelease})
	is(t, "DailyCounts", err, nil)
	var deposits, approvals int
	for _, d := range days {
		deposits += d.Counts[api.AuditDeposit]
		approvals += d.Counts[api.AuditApproval]
		if d.Counts[api.AuditRelease] != 0 || !d.Day.Equal(d.Day.Truncate(24*time.Hour)) {
			t.Errorf("day %s: %v", d.Day, d.Counts)
		}
	}
	if deposits != 3 || approvals != 1 {
		t.Fatalf("daily counts: %d deposits, %d approvals", deposits, approvals)
	}
	later, err := e.s.DailyCounts(ctx, now().Add(time.Hour), []api.AuditKind{api.AuditDeposit})
	if err != nil || len(later) != 0 {
		t.Fatalf("counts from the future: %v, %v", later, err)
	}

	other.Failures, other.LastFailure = 7, now()
	_, err = e.s.UpdateOwner(ctx, other, entry(api.AuditCodeAttempt, other.ID, `{}`))
	is(t, "UpdateOwner", err, nil)
	throttled, err := e.s.Throttled(ctx, 5, 10)
	if err != nil || len(throttled) != 1 || throttled[0].ID != other.ID || throttled[0].Failures != 7 {
		t.Fatalf("throttled owners: %v, %v", throttled, err)
	}
	act, err := e.s.OwnerActivity(ctx, o.ID)
	if err != nil || act.Deposits != 2 || act.Last.Seq != 8 {
		t.Fatalf("o's activity: %+v, %v", act, err)
	}
	_, err = e.s.OwnerActivity(ctx, keyblob.Fingerprint{1})
	is(t, "an unknown owner's activity", err, api.ErrNotFound)
	for _, limit := range []int{0, api.MaxPage + 1} {
		_, err := e.s.Recoveries(ctx, authority.RecoveryPending, 0, limit)
		is(t, "Recoveries with a page out of bounds", err, api.ErrInvalid)
		_, err = e.s.AuditFiltered(ctx, authority.AuditFilter{}, 0, limit)
		is(t, "AuditFiltered with a page out of bounds", err, api.ErrInvalid)
		_, err = e.s.Throttled(ctx, 1, limit)
		is(t, "Throttled with a page out of bounds", err, api.ErrInvalid)
	}
}
