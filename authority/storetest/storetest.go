// Package storetest is the conformance suite of authority.Store: every
// backend runs it, on a real database, from its own tests.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Open {
//			path := filepath.Join(t.TempDir(), "authority.db")
//			return func() (authority.Store, error) { return sqlitestore.Open(path) }
//		})
//	}
//
// The suite checks every method's contract: the records it returns are
// the ones stored, byte for byte; first use wins among goroutines and
// among instances sharing one database (nonces, bindings, deposits,
// approvals); compare-and-swap refuses stale versions and lets exactly
// one of racing changes win; deposits are idempotent on (owner, serial);
// the audit log is one intact chain after concurrent appends; a store
// opened again reads back everything; and more than a thousand hostile
// strings in every text field round-trip exactly or are refused with
// authority.ErrInvalid, never with another error.
package storetest

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority"
	"github.com/keyblob/keyblob/authority/api"
)

// Open opens the database a NewDB made: each call returns a new Store
// instance on the same database, as another serve instance (or the same
// one restarted) would open it.
type Open func() (authority.Store, error)

// NewDB makes a new, empty database for one test and returns how to open
// it. The suite closes every store it opens.
type NewDB func(t *testing.T) Open

// Run runs the suite, each test on a database of its own.
func Run(t *testing.T, newDB NewDB) {
	tests := []struct {
		name string
		run  func(*testing.T, *env)
	}{
		{"Nonces", testNonces},
		{"NoncesRace", testNoncesRace},
		{"Owners", testOwners},
		{"OwnersRace", testOwnersRace},
		{"UpdateOwner", testUpdateOwner},
		{"UpdateOwnerRace", testUpdateOwnerRace},
		{"Deposits", testDeposits},
		{"DepositsRace", testDepositsRace},
		{"DepositPages", testDepositPages},
		{"DepositNonce", testDepositNonce},
		{"DepositNonceRace", testDepositNonceRace},
		{"Recoveries", testRecoveries},
		{"Approvals", testApprovals},
		{"CompleteRecovery", testCompleteRecovery},
		{"CancelRecovery", testCancelRecovery},
		{"Policies", testPolicies},
		{"CompleteRecoveryRace", testCompleteRecoveryRace},
		{"Audit", testAudit},
		{"AuditRace", testAuditRace},
		{"Invalid", testInvalid},
		{"Times", testTimes},
		{"Durability", testDurability},
		{"Instances", testInstances},
		{"HostileStrings", testHostileStrings},
		{"Reports", testReports},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &env{t: t, open: newDB(t)}
			e.s = e.reopen()
			tt.run(t, e)
		})
	}
}

// env is one test's database and its first store.
type env struct {
	t    *testing.T
	open Open
	s    authority.Store
}

// reopen opens another store on the test's database, closed at the end
// of the test.
func (e *env) reopen() authority.Store {
	e.t.Helper()
	s, err := e.open()
	if err != nil {
		e.t.Fatalf("opening the store: %v", err)
	}
	var once sync.Once
	e.t.Cleanup(func() { once.Do(func() { s.Close() }) })
	return closeOnce{Store: s, once: &once}
}

// closeOnce lets a test close a store early without the cleanup closing
// it again.
type closeOnce struct {
	authority.Store
	once *sync.Once
}

func (c closeOnce) Close() error {
	err := errors.New("closed twice")
	c.once.Do(func() { err = c.Store.Close() })
	return err
}

// now is a time with nanoseconds, in UTC, like the times a store returns.
func now() time.Time { return time.Now().UTC() }

// fp returns a new random fingerprint.
func fp() keyblob.Fingerprint {
	var f keyblob.Fingerprint
	rand.Read(f[:])
	return f
}

func serial() keyblob.Serial {
	var s keyblob.Serial
	rand.Read(s[:])
	return s
}

// nonce returns a new request nonce of a new signer.
func nonce() authority.Nonce {
	n := authority.Nonce{Signer: fp(), Expires: now().Add(5 * time.Minute)}
	rand.Read(n.Value[:])
	return n
}

func requestID() api.RequestID {
	var id api.RequestID
	rand.Read(id[:])
	return id
}

// newOwner returns an owner ready for CreateOwner.
func newOwner() authority.Owner {
	id := fp()
	return authority.Owner{ID: id, Recipient: "keyblob:x25519:" + fmt.Sprintf("%x", id[:8]), Signer: id,
		Verifier: verifier(), Created: now()}
}

func verifier() []byte {
	v := make([]byte, 57)
	rand.Read(v)
	return v
}

// entry returns an audit entry for the change of kind about owner.
func entry(kind api.AuditKind, owner keyblob.Fingerprint, detail string) api.AuditEntry {
	return api.AuditEntry{Time: now(), Kind: kind, Owner: owner, Actor: owner, Detail: detail}
}

// mustCreate creates o and returns it as stored (Version 1).
func mustCreate(t *testing.T, s authority.Store, o authority.Owner) authority.Owner {
	t.Helper()
	if _, err := s.CreateOwner(t.Context(), o, entry(api.AuditEnroll, o.ID, `{}`)); err != nil {
		t.Fatalf("CreateOwner: %v", err)
	}
	o.Version = 1
	return o
}

func mustDeposit(t *testing.T, s authority.Store, o authority.Owner, sn keyblob.Serial) authority.Deposit {
	t.Helper()
	d := authority.Deposit{Owner: o.ID, Serial: sn, Description: "a key", Blob: []byte("kblb\x62\x01 blob " + fmt.Sprint(sn)),
		Signer: o.Signer, Created: now().Truncate(time.Second), Deposited: now()}
	e, err := s.PutDeposit(t.Context(), nonce(), d, entry(api.AuditDeposit, o.ID, `{}`))
	if err != nil {
		t.Fatalf("PutDeposit: %v", err)
	}
	d.Seq = e.Seq
	return d
}

// newRecovery returns a pending request for o to a new identity.
func newRecovery(o authority.Owner) authority.Recovery {
	t := now()
	return authority.Recovery{ID: requestID(), Owner: o.ID, OldSigner: o.Signer, To: "keyblob:hybrid:new",
		ToSigner: fp(), State: authority.RecoveryPending, Created: t, Completable: t.Add(time.Hour), Expires: t.Add(24 * time.Hour)}
}

// mustRecovery creates a request for o and returns it and o as stored.
func mustRecovery(t *testing.T, s authority.Store, o authority.Owner) (authority.Recovery, authority.Owner) {
	t.Helper()
	r := newRecovery(o)
	if _, err := s.CreateRecovery(t.Context(), r, o, entry(api.AuditRecoveryRequest, o.ID, `{}`)); err != nil {
		t.Fatalf("CreateRecovery: %v", err)
	}
	r.Version, o.Version = 1, o.Version+1
	return r, o
}

// same fails the test if got differs from want.
func same[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("%s differs (-want +got):\n%s", what, diff)
	}
}

// is fails the test unless errors.Is(err, target) (target nil: err nil).
func is(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

// race runs f(i) for i in [0, n) at once, and returns the errors.
func race(n int, f func(i int) error) []error {
	errs := make([]error, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Go(func() {
			start.Wait()
			errs[i] = f(i)
		})
	}
	start.Done()
	done.Wait()
	return errs
}

// oneWins checks that exactly one of errs is nil and the others are loser.
func oneWins(t *testing.T, what string, errs []error, loser error) int {
	t.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("%s: two winners, %d and %d", what, winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, loser):
			t.Fatalf("%s: loser %d: %v, want %v", what, i, err, loser)
		}
	}
	if winner < 0 {
		t.Fatalf("%s: no winner", what)
	}
	return winner
}

// racers is how many goroutines race in the concurrency tests.
const racers = 16

// verify checks that the whole log is one intact chain of n entries.
func verify(t *testing.T, s authority.Store, n uint64) api.AuditHead {
	t.Helper()
	head, err := api.VerifyChain(authority.Entries(t.Context(), s))
	if err != nil {
		t.Fatalf("the audit log does not verify: %v", err)
	}
	if head.Seq != n {
		t.Fatalf("the audit log has %d entries, want %d", head.Seq, n)
	}
	return head
}

// digest names a byte string in failure messages without printing it.
func digest(s string) string {
	return fmt.Sprintf("%d bytes, SHA-256 %x", len(s), sha256.Sum256([]byte(s)))
}
