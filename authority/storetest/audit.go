package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority"
	"github.com/keyblob/keyblob/authority/api"
)

// testAudit checks that every audited method appended exactly the entry
// it was given, chained, and that Audit filters and pages.
func testAudit(t *testing.T, e *env) {
	ctx := t.Context()
	o, other := mustCreate(t, e.s, newOwner()), mustCreate(t, e.s, newOwner())
	mustDeposit(t, e.s, o, serial())
	mustDeposit(t, e.s, other, serial())
	release := api.AuditEntry{Time: now(), Kind: api.AuditRelease, Owner: o.ID, Actor: fp(),
		Ref: [16]byte{1, 2, 3}, Detail: `{"serials":[]}`, Seq: 99, Hash: [32]byte{9}}
	got, err := e.s.AppendAudit(ctx, release)
	is(t, "AppendAudit", err, nil)
	head := verify(t, e.s, 5)
	if got.Seq != 5 || got.Hash != head.Hash {
		t.Fatalf("AppendAudit returned seq %d, hash %x; the log's head is %d, %x", got.Seq, got.Hash, head.Seq, head.Hash)
	}
	all, err := e.s.Audit(ctx, keyblob.Fingerprint{}, 0, api.MaxPage)
	is(t, "Audit", err, nil)
	same(t, "the appended entry", all[4], got)
	if got.Detail != release.Detail || got.Actor != release.Actor || got.Ref != release.Ref || !got.Time.Equal(release.Time) {
		t.Fatalf("AppendAudit changed the entry: %+v", got)
	}
	mine, err := e.s.Audit(ctx, o.ID, 0, api.MaxPage)
	is(t, "Audit of one owner", err, nil)
	if len(mine) != 3 || mine[0].Seq != 1 || mine[1].Seq != 3 || mine[2].Seq != 5 {
		t.Fatalf("the owner's entries: %d", len(mine))
	}
	same(t, "an owner's entry", mine[1], all[2])
	page, err := e.s.Audit(ctx, o.ID, 1, 1)
	if err != nil || len(page) != 1 || page[0].Seq != 3 {
		t.Fatalf("Audit(owner, after 1, limit 1): %v, %v", page, err)
	}
	page, err = e.s.Audit(ctx, keyblob.Fingerprint{}, 3, 10)
	if err != nil || len(page) != 2 || page[0].Seq != 4 {
		t.Fatalf("Audit(all, after 3): %v, %v", page, err)
	}
	for _, limit := range []int{0, -1, api.MaxPage + 1} {
		_, err := e.s.Audit(ctx, keyblob.Fingerprint{}, 0, limit)
		is(t, "Audit with a page out of bounds", err, api.ErrInvalid)
		_, err = e.s.Deposits(ctx, o.ID, 0, limit)
		is(t, "Deposits with a page out of bounds", err, api.ErrInvalid)
	}
}

// testAuditRace appends entries from goroutines on two instances, by
// every audited method at once: the log stays one chain with no gap.
func testAuditRace(t *testing.T, e *env) {
	stores := []authority.Store{e.s, e.reopen()}
	owners := make([]authority.Owner, racers)
	for i := range owners {
		owners[i] = mustCreate(t, e.s, newOwner())
	}
	const rounds = 6
	errs := race(racers, func(i int) error {
		s, o := stores[i%2], owners[i]
		for round := range rounds {
			var err error
			switch round % 3 {
			case 0:
				d := authority.Deposit{Owner: o.ID, Serial: serial(), Blob: []byte{1}, Signer: o.Signer, Created: now(), Deposited: now()}
				_, err = s.PutDeposit(t.Context(), nonce(), d, entry(api.AuditDeposit, o.ID, `{}`))
			case 1:
				o.Failures++
				_, err = s.UpdateOwner(t.Context(), o, entry(api.AuditCodeAttempt, o.ID, `{}`))
				o.Version++
			case 2:
				_, err = s.AppendAudit(t.Context(), entry(api.AuditRelease, o.ID, `{}`))
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	for _, err := range errs {
		is(t, "an audited change", err, nil)
	}
	verify(t, e.s, racers+racers*rounds)
	for _, o := range owners {
		mine, err := stores[1].Audit(t.Context(), o.ID, 0, api.MaxPage)
		if err != nil || len(mine) != 1+rounds {
			t.Fatalf("an owner's entries: %d, %v", len(mine), err)
		}
	}
}

// testInvalid checks that records out of bounds are ErrInvalid and change
// nothing.
func testInvalid(t *testing.T, e *env) {
	ctx := t.Context()
	o := mustCreate(t, e.s, newOwner())
	before := verify(t, e.s, 1)
	good := entry(api.AuditDeposit, o.ID, `{}`)
	badEntries := map[string]api.AuditEntry{
		"kind 0":        {Time: now(), Owner: o.ID},
		"unknown kind":  {Time: now(), Kind: 200, Owner: o.ID},
		"no owner":      {Time: now(), Kind: api.AuditRelease},
		"time 1969":     {Time: time.Unix(-1, 0), Kind: api.AuditRelease, Owner: o.ID},
		"detail 64 KiB": {Time: now(), Kind: api.AuditRelease, Owner: o.ID, Detail: string(make([]byte, api.MaxDetail+1))},
	}
	for name, bad := range badEntries {
		_, err := e.s.AppendAudit(ctx, bad)
		is(t, "AppendAudit, "+name, err, api.ErrInvalid)
		_, err = e.s.PutDeposit(ctx, nonce(), authority.Deposit{Owner: o.ID, Serial: serial(), Blob: []byte{1}, Signer: o.Signer,
			Created: now(), Deposited: now()}, bad)
		is(t, "PutDeposit with an invalid entry, "+name, err, api.ErrInvalid)
	}
	calls := map[string]error{}
	noID := newOwner()
	noID.ID, noID.Signer = keyblob.Fingerprint{}, keyblob.Fingerprint{}
	_, calls["CreateOwner without id"] = e.s.CreateOwner(ctx, noID, good)
	noVerifier := o
	noVerifier.Verifier = nil
	_, calls["UpdateOwner without verifier"] = e.s.UpdateOwner(ctx, noVerifier, good)
	negative := o
	negative.Failures = -1
	_, calls["UpdateOwner with negative failures"] = e.s.UpdateOwner(ctx, negative, good)
	_, calls["PutDeposit without blob"] = e.s.PutDeposit(ctx, nonce(), authority.Deposit{Owner: o.ID, Serial: serial(), Signer: o.Signer,
		Created: now(), Deposited: now()}, good)
	r := newRecovery(o)
	r.ToSigner = keyblob.Fingerprint{}
	_, calls["CreateRecovery without new signer"] = e.s.CreateRecovery(ctx, r, o, good)
	_, calls["AddApproval without operator"] = e.s.AddApproval(ctx, requestID(), authority.Approval{Time: now()}, good)
	_, calls["PutDeposit with a nonce without signer"] = e.s.PutDeposit(ctx, authority.Nonce{Expires: now()},
		authority.Deposit{Owner: o.ID, Serial: serial(), Blob: []byte{1}, Signer: o.Signer, Created: now(), Deposited: now()}, good)
	calls["UseNonce without signer"] = e.s.UseNonce(ctx, authority.Nonce{Expires: now()})
	calls["UseNonce in 2263"] = e.s.UseNonce(ctx, authority.Nonce{Signer: fp(), Expires: time.Date(2263, 1, 1, 0, 0, 0, 0, time.UTC)})
	for name, err := range calls {
		is(t, name, err, api.ErrInvalid)
	}
	if after := verify(t, e.s, 1); after != before {
		t.Fatal("a refused change moved the log's head")
	}
	same(t, "owner after refused changes", ownerOf(t, e.s, o.ID), o)
}

// testTimes stores times at the edges of what a store keeps, with
// nanoseconds and other zones, and reads them back equal, in UTC.
func testTimes(t *testing.T, e *env) {
	ctx := t.Context()
	zone := time.FixedZone("UTC-3:30", -(3*3600 + 1800))
	for _, tm := range []time.Time{
		time.Unix(0, 0), time.Unix(0, 1), time.Date(2025, 6, 7, 8, 9, 10, 123456789, zone),
		time.Unix(0, 1<<63-1), time.Now(),
	} {
		o := newOwner()
		o.Created = tm
		_, err := e.s.CreateOwner(ctx, o, api.AuditEntry{Time: tm, Kind: api.AuditEnroll, Owner: o.ID})
		is(t, "CreateOwner at "+tm.String(), err, nil)
		read := ownerOf(t, e.s, o.ID)
		if !read.Created.Equal(tm) || read.Created.Location() != time.UTC {
			t.Fatalf("stored %v, read %v", tm, read.Created)
		}
		entries, _ := e.s.Audit(ctx, o.ID, 0, 1)
		if len(entries) != 1 || !entries[0].Time.Equal(tm) || entries[0].Time.Location() != time.UTC {
			t.Fatalf("audit time stored %v, read %v", tm, entries)
		}
	}
	verify(t, e.s, 5)
}

// testDurability writes every kind of record, closes the store, opens
// the database again and reads everything back.
func testDurability(t *testing.T, e *env) {
	ctx := t.Context()
	o := mustCreate(t, e.s, newOwner())
	d := mustDeposit(t, e.s, o, serial())
	r, o := mustRecovery(t, e.s, o)
	a := authority.Approval{Operator: fp(), Time: now()}
	_, err := e.s.AddApproval(ctx, r.ID, a, entry(api.AuditApproval, o.ID, `{}`))
	is(t, "AddApproval", err, nil)
	n := authority.Nonce{Signer: fp(), Expires: now().Add(time.Hour)}
	is(t, "UseNonce", e.s.UseNonce(ctx, n), nil)
	head := verify(t, e.s, 4)
	is(t, "Close", e.s.Close(), nil)

	s := e.reopen()
	is(t, "Ping", s.Ping(ctx), nil)
	same(t, "owner after reopening", ownerOf(t, s, o.ID), o)
	read, err := s.Deposit(ctx, o.ID, d.Serial)
	is(t, "Deposit after reopening", err, nil)
	same(t, "deposit after reopening", read, d)
	r.Approvals = []authority.Approval{a}
	same(t, "recovery request after reopening", ownerRecovery(t, s, r), r)
	is(t, "a nonce used before reopening", s.UseNonce(ctx, n), api.ErrReplay)
	if got := verify(t, s, 4); got != head {
		t.Fatal("the log's head changed across reopening")
	}
	_, err = s.AppendAudit(ctx, entry(api.AuditRelease, o.ID, `{}`))
	is(t, "appending after reopening", err, nil)
	verify(t, s, 5)
}

// testInstances checks that what one instance writes, another sees at
// once: a nonce, an enrolment, a deposit, a recovery.
func testInstances(t *testing.T, e *env) {
	ctx := t.Context()
	a, b := e.s, e.reopen()
	n := authority.Nonce{Signer: fp(), Expires: now().Add(time.Hour)}
	is(t, "UseNonce at one instance", a.UseNonce(ctx, n), nil)
	is(t, "the same nonce at the other", b.UseNonce(ctx, n), api.ErrReplay)
	o := mustCreate(t, a, newOwner())
	same(t, "an owner enrolled at the other instance", ownerOf(t, b, o.ID), o)
	d := mustDeposit(t, b, o, serial())
	read, err := a.Deposit(ctx, o.ID, d.Serial)
	is(t, "a deposit made at the other instance", err, nil)
	same(t, "deposit", read, d)
	r, o := mustRecovery(t, a, o)
	done, rebound := complete(r, o)
	_, err = b.CompleteRecovery(ctx, done, rebound, entry(api.AuditRecovery, o.ID, `{}`))
	is(t, "completing at the other instance", err, nil)
	if got := ownerOf(t, a, r.ToSigner); got.Signer != r.ToSigner {
		t.Fatal("a recovery at one instance is not seen at the other")
	}
	if _, err := a.CompleteRecovery(ctx, done, rebound, entry(api.AuditRecovery, o.ID, `{}`)); !errors.Is(err, authority.ErrConflict) {
		t.Fatalf("completing again at the first instance: %v", err)
	}
	verify(t, a, 4)
}
