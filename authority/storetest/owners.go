package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority"
	"github.com/keyblob/keyblob/authority/api"
)

func testNonces(t *testing.T, e *env) {
	ctx := t.Context()
	n := authority.Nonce{Signer: fp(), Expires: now().Add(5 * time.Minute)}
	n.Value[0] = 1
	is(t, "first use", e.s.UseNonce(ctx, n), nil)
	is(t, "second use", e.s.UseNonce(ctx, n), api.ErrReplay)
	other := n
	other.Signer = fp()
	is(t, "another signer's use of the value", e.s.UseNonce(ctx, other), nil)
	is(t, "purge before expiry", e.s.PurgeNonces(ctx, n.Expires), nil)
	is(t, "use after a purge before expiry", e.s.UseNonce(ctx, n), api.ErrReplay)
	is(t, "purge after expiry", e.s.PurgeNonces(ctx, n.Expires.Add(time.Nanosecond)), nil)
	is(t, "use after expiry and purge", e.s.UseNonce(ctx, n), nil)
	is(t, "second use after purge", e.s.UseNonce(ctx, n), api.ErrReplay)
	verify(t, e.s, 0)
}

// testNoncesRace races uses of one nonce on two instances.
func testNoncesRace(t *testing.T, e *env) {
	stores := []authority.Store{e.s, e.reopen()}
	for round := range 4 {
		n := authority.Nonce{Signer: fp(), Expires: now().Add(time.Hour)}
		n.Value[15] = byte(round)
		errs := race(racers, func(i int) error { return stores[i%2].UseNonce(t.Context(), n) })
		oneWins(t, "racing nonce uses", errs, api.ErrReplay)
	}
}

func testOwners(t *testing.T, e *env) {
	ctx := t.Context()
	o := newOwner()
	got, err := e.s.CreateOwner(ctx, o, entry(api.AuditEnroll, o.ID, `{"recipient":"x"}`))
	is(t, "CreateOwner", err, nil)
	if got.Seq != 1 || got.Prev != ([32]byte{}) || got.Detail != `{"recipient":"x"}` {
		t.Fatalf("CreateOwner's entry: %+v", got)
	}
	o.Version = 1
	read, err := e.s.Owner(ctx, o.ID)
	is(t, "Owner", err, nil)
	same(t, "owner", read, o)
	_, err = e.s.Owner(ctx, fp())
	is(t, "unknown owner", err, api.ErrNotFound)

	again := newOwner()
	again.ID, again.Signer = o.ID, o.Signer
	_, err = e.s.CreateOwner(ctx, again, entry(api.AuditEnroll, o.ID, `{}`))
	is(t, "enrolling a bound key again", err, authority.ErrExists)
	read, _ = e.s.Owner(ctx, o.ID)
	same(t, "owner after a refused enrolment", read, o)

	mismatch := newOwner()
	mismatch.Signer = fp()
	_, err = e.s.CreateOwner(ctx, mismatch, entry(api.AuditEnroll, mismatch.ID, `{}`))
	is(t, "an owner whose id is not its signer", err, api.ErrInvalid)
	verify(t, e.s, 1)
}

// testOwnersRace races enrolments of one key on two instances.
func testOwnersRace(t *testing.T, e *env) {
	stores := []authority.Store{e.s, e.reopen()}
	o := newOwner()
	errs := race(racers, func(i int) error {
		c := o
		c.Recipient = string(rune('a' + i))
		_, err := stores[i%2].CreateOwner(t.Context(), c, entry(api.AuditEnroll, o.ID, `{}`))
		return err
	})
	w := oneWins(t, "racing enrolments", errs, authority.ErrExists)
	read, err := stores[1].Owner(t.Context(), o.ID)
	is(t, "Owner", err, nil)
	if read.Recipient != string(rune('a'+w)) {
		t.Fatalf("the store holds enrolment %q, the winner was %q", read.Recipient, string(rune('a'+w)))
	}
	verify(t, e.s, 1)
}

func testUpdateOwner(t *testing.T, e *env) {
	ctx := t.Context()
	o := mustCreate(t, e.s, newOwner())
	changed := o
	changed.Failures, changed.Verifier = 3, verifier()
	got, err := e.s.UpdateOwner(ctx, changed, entry(api.AuditCodeAttempt, o.ID, `{"attempt":3}`))
	is(t, "UpdateOwner", err, nil)
	if got.Seq != 2 || got.Kind != api.AuditCodeAttempt {
		t.Fatalf("UpdateOwner's entry: %+v", got)
	}
	changed.Version = 2
	read, _ := e.s.Owner(ctx, o.ID)
	same(t, "updated owner", read, changed)

	_, err = e.s.UpdateOwner(ctx, o, entry(api.AuditCodeAttempt, o.ID, `{}`))
	is(t, "a stale version", err, authority.ErrConflict)
	wrongSigner := changed
	wrongSigner.Signer = fp()
	_, err = e.s.UpdateOwner(ctx, wrongSigner, entry(api.AuditCodeAttempt, o.ID, `{}`))
	is(t, "another signer", err, authority.ErrConflict)
	rebound := changed
	rebound.Recipient = "keyblob:other"
	_, err = e.s.UpdateOwner(ctx, rebound, entry(api.AuditCodeAttempt, o.ID, `{}`))
	is(t, "UpdateOwner with a new recipient", err, nil)
	read, _ = e.s.Owner(ctx, o.ID)
	if read.Recipient != o.Recipient || read.Version != 3 {
		t.Fatalf("UpdateOwner changed the binding: %+v", read)
	}
	unknown := newOwner()
	unknown.Version = 1
	_, err = e.s.UpdateOwner(ctx, unknown, entry(api.AuditCodeAttempt, unknown.ID, `{}`))
	is(t, "an unknown owner", err, api.ErrNotFound)
	verify(t, e.s, 3)
}

// testUpdateOwnerRace counts concurrent attempts by read, increment and
// compare-and-swap, retried on conflict, on two instances: none is lost.
func testUpdateOwnerRace(t *testing.T, e *env) {
	stores := []authority.Store{e.s, e.reopen()}
	o := mustCreate(t, e.s, newOwner())
	conflicts := make([]int, racers)
	errs := race(racers, func(i int) error {
		s := stores[i%2]
		for {
			read, err := s.Owner(t.Context(), o.ID)
			if err != nil {
				return err
			}
			read.Failures++
			_, err = s.UpdateOwner(t.Context(), read, entry(api.AuditCodeAttempt, o.ID, `{}`))
			if !errors.Is(err, authority.ErrConflict) {
				return err
			}
			conflicts[i]++
		}
	})
	for _, err := range errs {
		is(t, "counting an attempt", err, nil)
	}
	read, _ := e.s.Owner(t.Context(), o.ID)
	if read.Failures != racers || read.Version != 1+racers {
		t.Fatalf("after %d counted attempts: failures %d, version %d", racers, read.Failures, read.Version)
	}
	verify(t, e.s, 1+racers)
	t.Logf("%d compare-and-swap conflicts retried", sum(conflicts))
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

// ownerOf reads an owner that must exist.
func ownerOf(t *testing.T, s authority.Store, key keyblob.Fingerprint) authority.Owner {
	t.Helper()
	o, err := s.Owner(t.Context(), key)
	if err != nil {
		t.Fatalf("Owner: %v", err)
	}
	return o
}
