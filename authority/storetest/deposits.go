package storetest

import (
	"testing"

	"github.com/keyblob/keyblob/authority"
)

func testDeposits(t *testing.T, e *env) {
	ctx := t.Context()
	o := mustCreate(t, e.s, newOwner())
	d := mustDeposit(t, e.s, o, serial())
	if d.Seq != 2 {
		t.Fatalf("the deposit's seq is %d, want its audit entry's, 2", d.Seq)
	}
	read, err := e.s.Deposit(ctx, o.ID, d.Serial)
	is(t, "Deposit", err, nil)
	same(t, "deposit", read, d)

	again := d
	again.Blob, again.Description = []byte("another blob of the same key"), "changed"
	_, err = e.s.PutDeposit(ctx, again, entry(authority.AuditDeposit, o.ID, `{}`))
	is(t, "a second deposit of the serial", err, authority.ErrExists)
	read, _ = e.s.Deposit(ctx, o.ID, d.Serial)
	same(t, "deposit after a repeated one", read, d)

	other := mustCreate(t, e.s, newOwner())
	d2 := mustDeposit(t, e.s, other, d.Serial)
	read, _ = e.s.Deposit(ctx, other.ID, d.Serial)
	same(t, "another owner's deposit of the same serial", read, d2)

	stranger := d
	stranger.Serial, stranger.Signer = serial(), fp()
	_, err = e.s.PutDeposit(ctx, stranger, entry(authority.AuditDeposit, o.ID, `{}`))
	is(t, "a deposit signed by a key that is not the owner's", err, authority.ErrConflict)
	orphan := d
	orphan.Owner = fp()
	_, err = e.s.PutDeposit(ctx, orphan, entry(authority.AuditDeposit, orphan.Owner, `{}`))
	is(t, "a deposit for an unknown owner", err, authority.ErrNotFound)
	_, err = e.s.Deposit(ctx, o.ID, serial())
	is(t, "an unknown serial", err, authority.ErrNotFound)
	_, err = e.s.Deposit(ctx, fp(), d.Serial)
	is(t, "another owner's serial", err, authority.ErrNotFound)
	verify(t, e.s, 4)
}

// testDepositsRace races deposits of one serial, and of distinct
// serials, on two instances.
func testDepositsRace(t *testing.T, e *env) {
	stores := []authority.Store{e.s, e.reopen()}
	o := mustCreate(t, e.s, newOwner())
	sn := serial()
	errs := race(racers, func(i int) error {
		d := authority.Deposit{Owner: o.ID, Serial: sn, Description: string(rune('a' + i)), Blob: []byte{byte(i)},
			Signer: o.Signer, Created: now(), Deposited: now()}
		_, err := stores[i%2].PutDeposit(t.Context(), d, entry(authority.AuditDeposit, o.ID, `{}`))
		return err
	})
	w := oneWins(t, "racing deposits of one serial", errs, authority.ErrExists)
	read, _ := stores[1].Deposit(t.Context(), o.ID, sn)
	if read.Description != string(rune('a'+w)) || read.Seq != 2 {
		t.Fatalf("the stored deposit is %q (seq %d), the winner was %d", read.Description, read.Seq, w)
	}

	serials := make([]authority.Deposit, racers)
	errs = race(racers, func(i int) error {
		d := authority.Deposit{Owner: o.ID, Serial: serial(), Blob: []byte{byte(i)}, Signer: o.Signer,
			Created: now(), Deposited: now()}
		got, err := stores[i%2].PutDeposit(t.Context(), d, entry(authority.AuditDeposit, o.ID, `{}`))
		d.Seq = got.Seq
		serials[i] = d
		return err
	})
	for _, err := range errs {
		is(t, "racing deposits of distinct serials", err, nil)
	}
	for _, d := range serials {
		read, err := e.s.Deposit(t.Context(), o.ID, d.Serial)
		is(t, "Deposit", err, nil)
		same(t, "raced deposit", read, d)
	}
	all, err := e.s.Deposits(t.Context(), o.ID, 0, authority.MaxPage)
	is(t, "Deposits", err, nil)
	if len(all) != racers+1 {
		t.Fatalf("%d deposits listed, want %d", len(all), racers+1)
	}
	verify(t, e.s, 2+racers)
}

// testDepositPages lists deposits page by page, in Seq order, with
// another owner's deposits in between.
func testDepositPages(t *testing.T, e *env) {
	ctx := t.Context()
	o, other := mustCreate(t, e.s, newOwner()), mustCreate(t, e.s, newOwner())
	var want []authority.Deposit
	for i := range 25 {
		want = append(want, mustDeposit(t, e.s, o, serial()))
		if i%3 == 0 {
			mustDeposit(t, e.s, other, serial())
		}
	}
	var got []authority.Deposit
	var after uint64
	for {
		page, err := e.s.Deposits(ctx, o.ID, after, 10)
		is(t, "Deposits", err, nil)
		got = append(got, page...)
		if len(page) < 10 {
			break
		}
		after = page[len(page)-1].Seq
	}
	same(t, "deposits read by pages", got, want)
	page, err := e.s.Deposits(ctx, o.ID, want[24].Seq, 10)
	if err != nil || len(page) != 0 {
		t.Fatalf("the page after the last deposit: %d deposits, %v", len(page), err)
	}
	page, err = e.s.Deposits(ctx, o.ID, 1<<63+5, 10)
	if err != nil || len(page) != 0 {
		t.Fatalf("the page after seq 2^63+5: %d deposits, %v", len(page), err)
	}
	page, err = e.s.Deposits(ctx, fp(), 0, 10)
	if err != nil || len(page) != 0 {
		t.Fatalf("an unknown owner's deposits: %d, %v", len(page), err)
	}
}
