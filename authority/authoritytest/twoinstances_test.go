package authoritytest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority"
	"github.com/keyblob/keyblob/authority/api"
	"github.com/keyblob/keyblob/authority/authoritytest"
	"github.com/keyblob/keyblob/authority/client"
	"github.com/keyblob/keyblob/authority/pgstore"
	"github.com/keyblob/keyblob/internal/pgtest"
)

// instances are server processes on one database, with a client of each.
type instances struct {
	t       *testing.T
	aut     *keyblob.Identity
	servers []*authoritytest.Server
	clients []*client.Client
}

// startInstances starts n server processes of this test binary on db at
// once (so that they migrate a new database at the same time).
func startInstances(t *testing.T, db string, n int) *instances {
	dir := t.TempDir()
	in := &instances{t: t, aut: newIdentity(t), servers: make([]*authoritytest.Server, n)}
	idPath := filepath.Join(dir, "authority.pem")
	if err := authoritytest.WriteIdentity(idPath, in.aut); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			name := fmt.Sprintf("instance%d", i)
			cfg := authoritytest.ServerConfig{DB: db, Identity: idPath, AddrFile: filepath.Join(dir, name+".addr"), Argon2: fastArgon2}
			in.servers[i], errs[i] = authoritytest.StartServer(exe, cfg, filepath.Join(dir, name+".log"))
		})
	}
	wg.Wait()
	for i, srv := range in.servers {
		if srv != nil {
			t.Cleanup(func() { in.stop(i) })
		}
	}
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, srv := range in.servers {
		c, err := authoritytest.NewClient(srv.URL, in.aut.Recipient())
		if err != nil {
			t.Fatal(err)
		}
		in.clients = append(in.clients, c)
	}
	return in
}

func (in *instances) stop(i int) {
	if err := in.servers[i].Stop(); err != nil {
		in.t.Errorf("stopping instance %d: %v", i, err)
	}
	if in.t.Failed() {
		logTail(in.t, in.servers[i].LogPath())
	}
}

// TestTwoInstancesPostgres runs two server processes on one PostgreSQL
// database, started at once, under concurrent load across both: no
// deposit is lost or duplicated (each also sent again to the other
// instance), both list the same deposits, a nonce used at one is refused
// at the other (also when both get it at the same moment), a recovery
// requested at one is seen, completed and released at the other, and the
// audit chain verifies with one entry per change.
func TestTwoInstancesPostgres(t *testing.T) {
	dsn := pgtest.Start(t).NewDatabase(t)
	in := startInstances(t, dsn, 2)
	deposits := 1000
	if testing.Short() {
		deposits = 200
	}
	owners := make([]*keyblob.Identity, 8)
	for i := range owners {
		owners[i] = newIdentity(t)
		if _, _, err := in.clients[i%2].Enroll(context.Background(), owners[i]); err != nil {
			t.Fatal(err)
		}
	}
	acks := in.load(owners, deposits)
	if t.Failed() {
		return
	}
	in.checkListed(owners, acks)
	in.checkNonces(owners[0])
	in.checkRecovery()
	checkChain(t, dsn, map[api.AuditKind]int{api.AuditEnroll: len(owners) + 1,
		api.AuditDeposit: deposits + 3, api.AuditRecoveryRequest: 1, api.AuditRecovery: 1})
}

// load makes n deposits from 32 concurrent clients, the i-th at instance
// i%2, every fifth sent again to the other instance, which must answer
// with the same deposit and receipt. It returns the acknowledged serials
// of each owner with their receipts' Seq.
func (in *instances) load(owners []*keyblob.Identity, n int) map[keyblob.Fingerprint]map[string]uint64 {
	acks := map[keyblob.Fingerprint]map[string]uint64{}
	for _, o := range owners {
		acks[o.Recipient().SigningFingerprint()] = map[string]uint64{}
	}
	var mu sync.Mutex
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range 32 {
		owner := owners[w%len(owners)]
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(n) && !in.t.Failed(); i = next.Add(1) - 1 {
				a := in.depositBoth(owner, int(i))
				mu.Lock()
				acks[owner.Recipient().SigningFingerprint()][a.serial.String()] = a.seq
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return acks
}

type acked struct {
	serial keyblob.Serial
	seq    uint64
}

// depositBoth deposits a new key at instance i%2 and, for every fifth i,
// the same blob at the other.
func (in *instances) depositBoth(owner *keyblob.Identity, i int) acked {
	ctx := context.Background()
	b, err := keyblob.Export(keyblob.NewSessionKey(), in.aut.Recipient(),
		&keyblob.ExportOptions{Description: fmt.Sprintf("two instances %d", i), Signer: owner})
	if err != nil {
		in.t.Error(err)
		return acked{}
	}
	_, rc, same, err := in.clients[i%2].DepositBlob(ctx, owner, b)
	if err != nil || !same {
		in.t.Errorf("deposit %d at instance %d: %v (same blob %v)", i, i%2, err, same)
		return acked{}
	}
	if i%5 == 0 {
		_, again, same, err := in.clients[1-i%2].DepositBlob(ctx, owner, b)
		if err != nil || !same || again.Entry.Seq != rc.Entry.Seq || again.Entry.Hash != rc.Entry.Hash {
			in.t.Errorf("deposit %d again at instance %d: %v (same blob %v, seq %d, first %d)", i, 1-i%2, err, same, again.Entry.Seq, rc.Entry.Seq)
		}
	}
	return acked{serial: b.Serial(), seq: rc.Entry.Seq}
}

// checkListed checks that both instances list exactly each owner's
// acknowledged deposits, once each, with their receipts' Seq.
func (in *instances) checkListed(owners []*keyblob.Identity, acks map[keyblob.Fingerprint]map[string]uint64) {
	for _, o := range owners {
		want := acks[o.Recipient().SigningFingerprint()]
		for i, c := range in.clients {
			list, err := c.Deposits(context.Background(), o)
			if err != nil {
				in.t.Fatalf("listing at instance %d: %v", i, err)
			}
			seen := map[string]bool{}
			for _, d := range list {
				if seen[d.Serial] || want[d.Serial] != d.Seq {
					in.t.Errorf("instance %d lists deposit %s (seq %d) wrongly: duplicate %v, acknowledged seq %d",
						i, d.Serial, d.Seq, seen[d.Serial], want[d.Serial])
				}
				seen[d.Serial] = true
			}
			if len(list) != len(want) {
				in.t.Errorf("instance %d lists %d deposits of an owner, %d acknowledged", i, len(list), len(want))
			}
		}
	}
}

// checkNonces sends signed requests to both instances: one first sent to
// one instance and then to the other, and one sent to both at once;
// exactly one of each pair is answered, the other refused as replayed.
func (in *instances) checkNonces(owner *keyblob.Identity) {
	for round := range 40 {
		target := "/v1/deposits?after=0&limit=1"
		auth, err := api.SignRequest(owner, in.aut.Recipient().Fingerprint(), http.MethodGet, target, nil, time.Now())
		if err != nil {
			in.t.Fatal(err)
		}
		statuses := make([]int, 2)
		send := func(i int) { statuses[i] = in.signedGet(in.servers[i].URL+target, auth) }
		if round%2 == 0 {
			send(round % 4 / 2)
			send(1 - round%4/2)
		} else {
			var wg sync.WaitGroup
			wg.Go(func() { send(0) })
			wg.Go(func() { send(1) })
			wg.Wait()
		}
		ok, replayed := 0, 0
		for _, s := range statuses {
			switch s {
			case http.StatusOK:
				ok++
			case http.StatusUnauthorized:
				replayed++
			}
		}
		if ok != 1 || replayed != 1 {
			in.t.Errorf("round %d: one signed request sent to both instances: statuses %v, want one 200 and one 401", round, statuses)
		}
	}
}

// signedGet sends a GET with auth's headers and returns its status; a 401
// must be "replayed".
func (in *instances) signedGet(url string, auth *api.Auth) int {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		in.t.Error(err)
		return 0
	}
	api.SetAuthHeaders(req.Header, auth)
	resp, err := in.clients[0].HTTP.Do(req)
	if err != nil {
		in.t.Error(err)
		return 0
	}
	defer resp.Body.Close()
	var body [512]byte
	n, _ := resp.Body.Read(body[:])
	if resp.StatusCode == http.StatusUnauthorized && !strings.Contains(string(body[:n]), `"replayed"`) {
		in.t.Errorf("a 401 that is not a replay: %s", body[:n])
	}
	return resp.StatusCode
}

// checkRecovery deposits three keys of a new owner, at both instances,
// requests their recovery at one, sees it and completes it at the other,
// fetches the keys at the first and imports them; then the retired
// identity is refused at both, the new one is the owner's at both, and
// the old code no longer opens a recovery.
func (in *instances) checkRecovery() {
	t, ctx := in.t, context.Background()
	a, b := in.clients[0], in.clients[1]
	owner, newID := newIdentity(t), newIdentity(t)
	code, _, err := b.Enroll(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[keyblob.Serial]*keyblob.SessionKey{}
	for i := range 3 {
		k := keyblob.NewSessionKey()
		if _, _, _, err := in.clients[i%2].Deposit(ctx, owner, k, fmt.Sprintf("recovered %d", i)); err != nil {
			t.Fatal(err)
		}
		keys[k.Serial()] = k
	}
	ownerID := owner.Recipient().SigningFingerprint()
	r, err := a.RequestRecovery(ctx, newID, ownerID, code, nil)
	if err != nil || r.State != "approved" {
		t.Fatalf("recovery requested at instance 0: %v (state %q)", err, r.State)
	}
	id, err := api.ParseRequestID(r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if seen, err := b.Recovery(ctx, newID, id); err != nil || seen.ID != r.ID || seen.State != r.State {
		t.Fatalf("instance 1 does not see the request: %+v, %v", seen, err)
	}
	if _, err := b.Complete(ctx, newID, id, ownerID, api.NewRecoveryCode()); err != nil {
		t.Fatalf("completing at instance 1: %v", err)
	}
	in.checkRecovered(id, newID, keys)
	for i, c := range in.clients {
		if _, err := c.Deposits(ctx, owner); !errors.Is(err, api.ErrUnauthenticated) {
			t.Errorf("instance %d: the retired identity lists deposits: %v", i, err)
		}
		if list, err := c.Deposits(ctx, newID); err != nil || len(list) != len(keys) {
			t.Errorf("instance %d: the new identity lists %d deposits, %v", i, len(list), err)
		}
	}
	if _, err := b.RequestRecovery(ctx, newIdentity(t), ownerID, code, nil); !errors.Is(err, api.ErrRecoveryRefused) {
		t.Errorf("the replaced code opened a recovery at instance 1: %v", err)
	}
}

// checkRecovered fetches the keys of recovery id at instance 0 and checks
// that they import, with newID, as the deposited keys.
func (in *instances) checkRecovered(id api.RequestID, newID *keyblob.Identity, keys map[keyblob.Serial]*keyblob.SessionKey) {
	got, err := in.clients[0].Keys(context.Background(), newID, id)
	if err != nil || len(got) != len(keys) {
		in.t.Fatalf("keys at instance 0: %d, %v", len(got), err)
	}
	for _, k := range got {
		sk, err := keyblob.Import(k.Blob, newID, &keyblob.ImportOptions{Verify: in.aut.Recipient()})
		if err != nil || keys[k.Serial] == nil || !sk.Equal(keys[k.Serial]) {
			in.t.Errorf("recovered key %s: %v", k.Serial, err)
		}
	}
}

// checkChain verifies the audit chain of the database at dsn and counts
// its entries by kind.
func checkChain(t *testing.T, dsn string, want map[api.AuditKind]int) {
	ctx := context.Background()
	st, err := pgstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got := map[api.AuditKind]int{}
	_, err = api.VerifyChain(func(yield func(api.AuditEntry, error) bool) {
		for e, err := range authority.Entries(ctx, st) {
			got[e.Kind]++
			if !yield(e, err) {
				return
			}
		}
	})
	if err != nil {
		t.Fatalf("the audit chain does not verify: %v", err)
	}
	for kind, n := range want {
		if got[kind] != n {
			t.Errorf("%d audit entries of kind %s, want %d", got[kind], kind, n)
		}
	}
}
