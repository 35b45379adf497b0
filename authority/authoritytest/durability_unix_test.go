//go:build unix

package authoritytest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority"
	"github.com/keyblob/keyblob/authority/api"
	"github.com/keyblob/keyblob/authority/authoritytest"
	"github.com/keyblob/keyblob/authority/client"
	"github.com/keyblob/keyblob/authority/sqlitestore"
	"github.com/keyblob/keyblob/internal/sqlitedb"
)

// durabilityScale is how many deposits the durability test makes and how
// many times it kills the server: the 20,000 and 50 (about 35 s
// on two cores), or a small run with -short (the race pass, where the
// race detector makes every deposit several times slower).
func durabilityScale() (deposits, kills int) {
	if testing.Short() {
		return 300, 3
	}
	return 20_000, 50
}

const (
	durabilityOwners  = 8
	durabilityClients = 32
	// retryFor bounds how long a client keeps retrying one deposit.
	retryFor = 90 * time.Second
)

// ack is an acknowledged deposit: HTTP 2xx with a receipt that verified.
type ack struct {
	owner   keyblob.Fingerprint
	serial  keyblob.Serial
	blob    []byte
	receipt api.Receipt
}

// durability is the state of one run.
type durability struct {
	t      *testing.T
	aut    *keyblob.Identity
	client *client.Client
	owners []*keyblob.Identity
	n      int
	next   atomic.Int64
	acked  atomic.Int64
	mu     sync.Mutex
	acks   []ack
}

// TestDurabilitySIGKILL makes signed deposits from concurrent clients to
// a server process on SQLite and kills it with SIGKILL at random points,
// restarting it each time; clients retry a deposit (the same blob) until
// it is acknowledged. At the end every acknowledged deposit is in the
// database, byte for byte, with the sequence number of its receipt, and
// nothing else is; PRAGMA integrity_check is ok; the audit chain
// verifies, holding exactly one entry per deposit and per enrolment,
// each acknowledged receipt's among them; and the stored Merkle tree and
// head are those of the entries, and every receipt's checkpoint a tree of
// them.
func TestDurabilitySIGKILL(t *testing.T) {
	deposits, kills := durabilityScale()
	dir := t.TempDir()
	path := filepath.Join(dir, "authority.db")
	d := &durability{t: t, aut: newIdentity(t), n: deposits}
	srv := startServer(t, dir, "server", "sqlite:"+path, d.aut)
	c, err := authoritytest.NewClient(srv.URL, d.aut.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	d.client = c
	d.enroll()
	start := time.Now()
	restarts := d.run(srv, kills)
	t.Logf("%d deposits, %d SIGKILLs in %v", deposits, restarts, time.Since(start).Round(time.Millisecond))
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	if t.Failed() {
		return
	}
	if restarts != kills {
		t.Errorf("the server was killed %d times, want %d", restarts, kills)
	}
	d.check(path)
}

func (d *durability) enroll() {
	for range durabilityOwners {
		d.owners = append(d.owners, newIdentity(d.t))
	}
	if _, err := authoritytest.Enroll(context.Background(), d.client, d.owners); err != nil {
		d.t.Fatal(err)
	}
}

// run runs the clients and the killer, and returns how many times the
// killer killed the server.
func (d *durability) run(srv *authoritytest.Server, kills int) int {
	points := make([]int64, kills)
	for i := range points {
		points[i] = 1 + rand.Int64N(int64(d.n-1))
	}
	slices.Sort(points)
	var wg sync.WaitGroup
	var restarts int
	done := make(chan struct{})
	wg.Go(func() { restarts = d.kill(srv, points, done) })
	var clients sync.WaitGroup
	for i := range durabilityClients {
		clients.Go(func() { d.deposit(d.owners[i%len(d.owners)]) })
	}
	clients.Wait()
	close(done)
	wg.Wait()
	return restarts
}

// kill kills and restarts the server each time the acknowledged count
// reaches the next point, a random moment (up to 2 ms) later.
func (d *durability) kill(srv *authoritytest.Server, points []int64, done <-chan struct{}) int {
	n := 0
	for _, p := range points {
		for d.acked.Load() < p {
			select {
			case <-done:
				return n
			case <-time.After(200 * time.Microsecond):
			}
		}
		time.Sleep(time.Duration(rand.Int64N(int64(2 * time.Millisecond))))
		if err := srv.Restart(); err != nil {
			d.t.Errorf("restart %d: %v", n+1, err)
			return n
		}
		n++
	}
	return n
}

// deposit makes deposits as owner until n are taken.
func (d *durability) deposit(owner *keyblob.Identity) {
	for i := d.next.Add(1) - 1; i < int64(d.n) && !d.t.Failed(); i = d.next.Add(1) - 1 {
		b, err := keyblob.Export(keyblob.NewSessionKey(), d.aut.Recipient(),
			&keyblob.ExportOptions{Description: fmt.Sprintf("durability %d", i), Signer: owner})
		if err != nil {
			d.t.Error(err)
			return
		}
		a, err := d.depositUntilAcked(owner, b)
		if err != nil {
			d.t.Errorf("deposit %d: %v", i, err)
			return
		}
		d.mu.Lock()
		d.acks = append(d.acks, a)
		d.mu.Unlock()
		d.acked.Add(1)
	}
}

// depositUntilAcked sends b until the server acknowledges it; a refusal
// other than "unavailable" is an error.
func (d *durability) depositUntilAcked(owner *keyblob.Identity, b *keyblob.KeyBlob) (ack, error) {
	ctx := context.Background()
	deadline := time.Now().Add(retryFor)
	for {
		dep, rc, same, err := d.client.DepositBlob(ctx, owner, b)
		var refused *client.APIError
		switch {
		case err == nil && !same:
			return ack{}, errors.New("the authority kept another blob of this serial")
		case err == nil:
			return ack{owner: owner.Recipient().SigningFingerprint(), serial: b.Serial(), blob: b.Marshal(), receipt: rc}, checkDeposit(dep, b)
		case errors.As(err, &refused) && !errors.Is(err, api.ErrUnavailable):
			return ack{}, err
		case time.Now().After(deadline):
			return ack{}, fmt.Errorf("not acknowledged within %v: %w", retryFor, err)
		}
		time.Sleep(time.Duration(1+rand.IntN(5)) * time.Millisecond)
	}
}

func checkDeposit(dep api.DepositV1, b *keyblob.KeyBlob) error {
	if dep.Serial != b.Serial().String() {
		return fmt.Errorf("the authority acknowledged serial %s for %s", dep.Serial, b.Serial())
	}
	return nil
}

// check opens the database the server left and checks it.
func (d *durability) check(path string) {
	t := d.t
	checkIntegrity(t, path)
	st, err := sqlitestore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	chain := map[uint64]api.AuditEntry{}
	kinds := map[api.AuditKind]int{}
	head, err := api.VerifyChain(func(yield func(api.AuditEntry, error) bool) {
		for e, err := range authority.Entries(ctx, st) {
			if err == nil {
				chain[e.Seq] = e
				kinds[e.Kind]++
			}
			if !yield(e, err) {
				return
			}
		}
	})
	if err != nil {
		t.Fatalf("the audit chain does not verify: %v", err)
	}
	if want := uint64(d.n + len(d.owners)); head.Seq != want || kinds[api.AuditDeposit] != d.n {
		t.Errorf("the audit log has %d entries (%d deposits), want %d (%d)", head.Seq, kinds[api.AuditDeposit], want, d.n)
	}
	d.checkAcks(st, chain)
	d.checkStored(st)
	d.checkLog(st)
}

// checkLog checks the transparency log the server left: the tree and
// head the store kept are those of the entries (authority.VerifyLog),
// and the checkpoint of every acknowledged receipt is a tree of those
// entries, so that every acknowledged deposit is in a signed checkpoint
// of the one history, whatever the kills interrupted.
func (d *durability) checkLog(st authority.Store) {
	var cps []api.Checkpoint
	sizes := map[uint64]bool{}
	for _, a := range d.acks {
		c, err := api.VerifyReceipt(d.aut.Recipient(), &a.receipt)
		if err != nil {
			d.t.Fatalf("acknowledged deposit %s: its receipt: %v", a.serial, err)
		}
		if !sizes[c.Size] {
			sizes[c.Size] = true
			cps = append(cps, c)
		}
	}
	head, err := authority.VerifyLog(context.Background(), st, cps)
	if err != nil {
		d.t.Fatalf("the transparency log: %v", err)
	}
	if head.TreeSize != head.Seq {
		d.t.Errorf("the head's tree holds %d entries, the log %d", head.TreeSize, head.Seq)
	}
	d.t.Logf("the log of %d entries agrees with %d checkpoints of the receipts", head.Seq, len(cps))
}

// checkIntegrity runs PRAGMA integrity_check on the database file.
func checkIntegrity(t *testing.T, path string) {
	db, err := sqlitedb.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var results []string
	rows, err := db.Query(`PRAGMA integrity_check`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		results = append(results, s)
	}
	if err := rows.Err(); err != nil || !slices.Equal(results, []string{"ok"}) {
		t.Fatalf("PRAGMA integrity_check: %q, %v", results, err)
	}
}

// checkAcks checks that every acknowledged deposit is stored as sent,
// and its receipt's entry is in the chain.
func (d *durability) checkAcks(st authority.Store, chain map[uint64]api.AuditEntry) {
	t := d.t
	if len(d.acks) != d.n {
		t.Fatalf("%d deposits acknowledged, want %d", len(d.acks), d.n)
	}
	for _, a := range d.acks {
		got, err := st.Deposit(context.Background(), a.owner, a.serial)
		switch {
		case err != nil:
			t.Errorf("acknowledged deposit %s of %s: %v", a.serial, a.owner, err)
		case !bytes.Equal(got.Blob, a.blob):
			t.Errorf("acknowledged deposit %s: the stored blob differs", a.serial)
		case got.Seq != a.receipt.Entry.Seq || chain[got.Seq].Hash != a.receipt.Entry.Hash:
			t.Errorf("acknowledged deposit %s: receipt entry %d is not the chain's", a.serial, a.receipt.Entry.Seq)
		}
	}
}

// checkStored checks that each owner's stored deposits are exactly the
// acknowledged ones, none twice.
func (d *durability) checkStored(st authority.Store) {
	want := map[keyblob.Fingerprint]map[keyblob.Serial]bool{}
	for _, a := range d.acks {
		if want[a.owner] == nil {
			want[a.owner] = map[keyblob.Serial]bool{}
		}
		want[a.owner][a.serial] = true
	}
	for owner, serials := range want {
		var n int
		for after := uint64(0); ; {
			page, err := st.Deposits(context.Background(), owner, after, api.MaxPage)
			if err != nil {
				d.t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for _, dep := range page {
				if !serials[dep.Serial] {
					d.t.Errorf("owner %s: stored deposit %s was never acknowledged, or is there twice", owner, dep.Serial)
				}
				delete(serials, dep.Serial)
				n++
			}
			after = page[len(page)-1].Seq
		}
		if len(serials) != 0 {
			d.t.Errorf("owner %s: %d acknowledged deposits not listed (%d listed)", owner, len(serials), n)
		}
	}
}
