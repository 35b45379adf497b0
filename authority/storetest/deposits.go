package storetest

import (
	"testing"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority"
	"github.com/keyblob/keyblob/authority/api"
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
	_, err = e.s.PutDeposit(ctx, nonce(), again, entry(api.AuditDeposit, o.ID, `{}`))
	is(t, "a second deposit of the serial", err, authority.ErrExists)
	read, _ = e.s.Deposit(ctx, o.ID, d.Serial)
	same(t, "deposit after a repeated one", read, d)

	other := mustCreate(t, e.s, newOwner())
	d2 := mustDeposit(t, e.s, other, d.Serial)
	read, _ = e.s.Deposit(ctx, other.ID, d.Serial)
	same(t, "another owner's deposit of the same serial", read, d2)

	stranger := d
	stranger.Serial, stranger.Signer = serial(), fp()
	_, err = e.s.PutDeposit(ctx, nonce(), stranger, entry(api.AuditDeposit, o.ID, `{}`))
	is(t, "a deposit signed by a key that is not the owner's", err, authority.ErrConflict)
	orphan := d
	orphan.Owner = fp()
	_, err = e.s.PutDeposit(ctx, nonce(), orphan, entry(api.AuditDeposit, orphan.Owner, `{}`))
	is(t, "a deposit for an unknown owner", err, api.ErrNotFound)
	_, err = e.s.Deposit(ctx, o.ID, serial())
	is(t, "an unknown serial", err, api.ErrNotFound)
	_, err = e.s.Deposit(ctx, fp(), d.Serial)
	is(t, "another owner's serial", err, api.ErrNotFound)
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
		_, err := stores[i%2].PutDeposit(t.Context(), nonce(), d, entry(api.AuditDeposit, o.ID, `{}`))
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
		got, err := stores[i%2].PutDeposit(t.Context(), nonce(), d, entry(api.AuditDeposit, o.ID, `{}`))
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
	all, err := e.s.Deposits(t.Context(), o.ID, 0, api.MaxPage)
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

// testDepositNonce checks that PutDeposit uses its nonce up with the
// deposit, in one transaction: a used nonce stores nothing, and a
// deposit refused for another reason leaves its nonce unused.
func testDepositNonce(t *testing.T, e *env) {
	ctx := t.Context()
	o := mustCreate(t, e.s, newOwner())
	deposit := func(sn keyblob.Serial) authority.Deposit {
		return authority.Deposit{Owner: o.ID, Serial: sn, Blob: []byte("blob"), Signer: o.Signer, Created: now(), Deposited: now()}
	}
	put := func(n authority.Nonce, d authority.Deposit) error {
		_, err := e.s.PutDeposit(ctx, n, d, entry(api.AuditDeposit, d.Owner, `{}`))
		return err
	}
	n := nonce()
	first := deposit(serial())
	is(t, "a deposit", put(n, first), nil)
	is(t, "UseNonce of the deposit's nonce", e.s.UseNonce(ctx, n), api.ErrReplay)
	second := deposit(serial())
	is(t, "another deposit with a used nonce", put(n, second), api.ErrReplay)
	_, err := e.s.Deposit(ctx, o.ID, second.Serial)
	is(t, "the deposit refused for its nonce", err, api.ErrNotFound)
	is(t, "the same deposit with a used nonce", put(n, first), api.ErrReplay)
	used := nonce()
	is(t, "UseNonce", e.s.UseNonce(ctx, used), nil)
	is(t, "a deposit with a nonce UseNonce used", put(used, second), api.ErrReplay)

	stranger := deposit(serial())
	stranger.Signer = fp()
	orphan := deposit(serial())
	orphan.Owner = fp()
	for _, tt := range []struct {
		name string
		d    authority.Deposit
		want error
	}{
		{"a repeated serial", first, authority.ErrExists},
		{"a signer that is not the owner's", stranger, authority.ErrConflict},
		{"an unknown owner", orphan, api.ErrNotFound},
	} {
		n := nonce()
		is(t, "a deposit of "+tt.name, put(n, tt.d), tt.want)
		is(t, "the nonce of a deposit of "+tt.name, e.s.UseNonce(ctx, n), nil)
	}
	verify(t, e.s, 2)
}

// testDepositNonceRace races deposits of distinct serials carrying one
// nonce, and UseNonce of it, on two instances: one wins, and only its
// deposit is stored.
func testDepositNonceRace(t *testing.T, e *env) {
	stores := []authority.Store{e.s, e.reopen()}
	o := mustCreate(t, e.s, newOwner())
	for round := range 2 {
		n := nonce()
		serials := make([]keyblob.Serial, racers)
		errs := race(racers, func(i int) error {
			if round == 1 && i%4 == 3 {
				return stores[i%2].UseNonce(t.Context(), n)
			}
			serials[i] = serial()
			d := authority.Deposit{Owner: o.ID, Serial: serials[i], Blob: []byte{byte(i)}, Signer: o.Signer,
				Created: now(), Deposited: now()}
			_, err := stores[i%2].PutDeposit(t.Context(), n, d, entry(api.AuditDeposit, o.ID, `{}`))
			return err
		})
		w := oneWins(t, "racing uses of one nonce", errs, api.ErrReplay)
		for i, sn := range serials {
			if sn == (keyblob.Serial{}) {
				continue
			}
			_, err := stores[1].Deposit(t.Context(), o.ID, sn)
			if i == w {
				is(t, "the winner's deposit", err, nil)
			} else {
				is(t, "a loser's deposit", err, api.ErrNotFound)
			}
		}
	}
	all, err := e.s.Deposits(t.Context(), o.ID, 0, api.MaxPage)
	is(t, "Deposits", err, nil)
	if n := len(all); n > 2 || n < 1 {
		t.Fatalf("%d deposits stored, want one per round that a deposit won", n)
	}
	verify(t, e.s, 1+uint64(len(all)))
}
