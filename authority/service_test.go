package authority_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority"
	"github.com/keyblob/keyblob/authority/api"
	"github.com/keyblob/keyblob/authority/sqlitestore"
	"github.com/keyblob/keyblob/password"
)

// fastArgon2 is the smallest Argon2id the limits allow, for tests.
var fastArgon2 = password.Params{Time: 1, MemoryKiB: password.MinMemoryKiB, Threads: 1}

var (
	identitiesMu sync.Mutex
	identities   = map[string]*keyblob.Identity{}
)

// identity returns a hybrid identity, one per name for the whole test
// binary (key generation is the slow part).
func identity(t testing.TB, name string) *keyblob.Identity {
	t.Helper()
	identitiesMu.Lock()
	defer identitiesMu.Unlock()
	if id := identities[name]; id != nil {
		return id
	}
	id, err := keyblob.GenerateIdentity(keyblob.KindX25519)
	if err != nil {
		t.Fatal(err)
	}
	identities[name] = id
	return id
}

func sqliteStore(t testing.TB) authority.Store {
	t.Helper()
	st, err := sqlitestore.Open(filepath.Join(t.TempDir(), "authority.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

type fixture struct {
	t   testing.TB
	svc *authority.Service
	st  authority.Store
	aut *keyblob.Identity
	now time.Time
}

func newFixture(t testing.TB, st authority.Store, quorum int, operators ...*keyblob.Identity) *fixture {
	t.Helper()
	return newFixtureConfig(t, st, func(c *authority.Config) {
		c.Quorum = quorum
		for _, op := range operators {
			c.Operators = append(c.Operators, op.Recipient())
		}
	})
}

// newFixtureConfig is newFixture with a Config that set changes.
func newFixtureConfig(t testing.TB, st authority.Store, set func(*authority.Config)) *fixture {
	t.Helper()
	f := &fixture{t: t, st: st, aut: identity(t, "authority"), now: time.Unix(1_750_000_000, 0)}
	c := &authority.Config{Store: st, Identity: f.aut, Argon2: fastArgon2, Now: func() time.Time { return f.now }}
	set(c)
	svc, err := authority.New(c)
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

// req signs a request as id.
func (f *fixture) req(id *keyblob.Identity, method, target string, body []byte) *api.Request {
	f.t.Helper()
	a, err := api.SignRequest(id, f.svc.Fingerprint(), method, target, body, f.now)
	if err != nil {
		f.t.Fatal(err)
	}
	return &api.Request{Method: method, Target: target, Body: body, Auth: a}
}

func (f *fixture) sealed(r *api.Request, c api.RecoveryCode, p api.CodePurpose, owner keyblob.Fingerprint) []byte {
	f.t.Helper()
	s, err := api.SealCode(f.aut.Recipient(), c, p, owner, r.Auth.Signer, r.Auth.Nonce)
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

func (f *fixture) enroll(id *keyblob.Identity) api.RecoveryCode {
	f.t.Helper()
	code := api.NewRecoveryCode()
	r := f.req(id, "POST", "/v1/enroll", []byte("{}"))
	fp := id.Recipient().SigningFingerprint()
	if _, _, err := f.svc.Enroll(context.Background(), r, id.Recipient(), f.sealed(r, code, api.PurposeEnroll, fp)); err != nil {
		f.t.Fatalf("enroll: %v", err)
	}
	return code
}

func (f *fixture) deposit(id *keyblob.Identity, desc string) *keyblob.SessionKey {
	f.t.Helper()
	key := keyblob.NewSessionKey()
	b, err := keyblob.Export(key, f.aut.Recipient(), &keyblob.ExportOptions{Description: desc, Signer: id})
	if err != nil {
		f.t.Fatal(err)
	}
	if res, err := f.svc.Deposit(context.Background(), f.req(id, "POST", "/v1/deposits", b.Marshal()), b); err != nil || !res.Created {
		f.t.Fatalf("deposit: created %v, %v", res.Created, err)
	}
	return key
}

func (f *fixture) requestRecovery(owner, to *keyblob.Identity, code api.RecoveryCode) (authority.RecoveryStatus, error) {
	r := f.req(to, "POST", "/v1/recoveries", []byte("{}"))
	ownerFP := owner.Recipient().SigningFingerprint()
	st, _, err := f.svc.RequestRecovery(context.Background(), r, authority.RecoveryInput{
		Owner: ownerFP, To: to.Recipient(), SealedCode: f.sealed(r, code, api.PurposeRecovery, ownerFP)})
	return st, err
}

func TestServiceRecovery(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, sqliteStore(t), 0)
	owner, newID := identity(t, "owner"), identity(t, "new")
	code := f.enroll(owner)
	want := map[keyblob.Serial]*keyblob.SessionKey{}
	for _, d := range []string{"one", "two", "three"} {
		k := f.deposit(owner, d)
		want[k.Serial()] = k
	}
	st, err := f.requestRecovery(owner, newID, code)
	if err != nil || st.State != "approved" {
		t.Fatalf("request: %v %v", st.State, err)
	}
	newCode := api.NewRecoveryCode()
	r := f.req(newID, "POST", "/v1/recoveries/x/complete", []byte("{}"))
	_, o, _, err := f.svc.CompleteRecovery(ctx, r, st.ID, f.sealed(r, newCode, api.PurposeNewCode, st.Owner))
	if err != nil || o.Signer != newID.Recipient().SigningFingerprint() {
		t.Fatalf("complete: %v", err)
	}
	keys, err := f.svc.RecoveredKeys(ctx, f.req(newID, "GET", "/v1/recoveries/x/keys", nil), st.ID, 0, 100)
	if err != nil || len(keys) != 3 {
		t.Fatalf("keys: %d, %v", len(keys), err)
	}
	for _, k := range keys {
		got, err := keyblob.Import(k.Blob, newID, &keyblob.ImportOptions{Verify: f.aut.Recipient()})
		if err != nil || !got.Equal(want[k.Serial]) {
			t.Fatalf("key %s: %v", k.Serial, err)
		}
	}
	// The old identity is retired; the new code works, the old does not.
	if _, err := f.svc.Deposits(ctx, f.req(owner, "GET", "/v1/deposits", nil), 0, 10); !errors.Is(err, api.ErrUnauthenticated) {
		t.Errorf("retired identity lists: %v", err)
	}
	if _, err := f.requestRecovery(owner, identity(t, "third"), code); !errors.Is(err, api.ErrRecoveryRefused) {
		t.Errorf("old code: %v", err)
	}
	if _, err := f.requestRecovery(owner, identity(t, "third"), newCode); err != nil {
		t.Errorf("new code: %v", err)
	}
}

// TestServiceThrottle: wrong codes from strangers throttle the owner, never
// lock it; a throttled request is refused without a check or a count and
// audited; after the wait the owner's right code works and resets the
// count; a request for an owner that does not exist is refused like a
// wrong code, with no entry.
func TestServiceThrottle(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, sqliteStore(t), 0)
	owner := identity(t, "owner")
	code := f.enroll(owner)
	fp := owner.Recipient().SigningFingerprint()
	for i := range authority.DefaultThrottleAfter {
		if _, err := f.requestRecovery(owner, identity(t, "stranger"), api.NewRecoveryCode()); !errors.Is(err, api.ErrRecoveryRefused) {
			t.Fatalf("wrong code %d: %v", i, err)
		}
	}
	_, err := f.requestRecovery(owner, identity(t, "new"), code)
	if secs, ok := api.RetryAfter(err); !errors.Is(err, api.ErrThrottled) || !ok || secs != 60 {
		t.Fatalf("right code while throttled: %v (retry after %d s), want ErrThrottled after 60 s", err, secs)
	}
	o, err := f.st.Owner(ctx, fp)
	if err != nil || o.Failures != authority.DefaultThrottleAfter {
		t.Fatalf("failures after a throttled request: %d, %v (it must not count)", o.Failures, err)
	}
	// A deposit meanwhile says so, and when the checks may run again.
	b, _ := keyblob.Export(keyblob.NewSessionKey(), f.aut.Recipient(), &keyblob.ExportOptions{Description: "d", Signer: owner})
	res, err := f.svc.Deposit(ctx, f.req(owner, "POST", "/v1/deposits", b.Marshal()), b)
	if err != nil || !res.ThrottledUntil.Equal(o.LastFailure.Add(time.Minute)) {
		t.Errorf("a deposit by a throttled owner: %v, throttled until %v (want %v)", err, res.ThrottledUntil, o.LastFailure.Add(time.Minute))
	}
	f.now = f.now.Add(time.Minute)
	if _, err := f.requestRecovery(owner, identity(t, "new"), code); err != nil {
		t.Fatalf("right code after the wait: %v", err)
	}
	if o, _ := f.st.Owner(ctx, fp); o.Failures != 0 || !o.LastFailure.IsZero() {
		t.Errorf("a right code left %d failures (last %v)", o.Failures, o.LastFailure)
	}
	kinds := auditKinds(t, f, owner)
	if kinds["code_attempt"] != authority.DefaultThrottleAfter+2 {
		t.Errorf("%d code_attempt entries, want %d (each check and the throttled request)", kinds["code_attempt"], authority.DefaultThrottleAfter+2)
	}
	if _, err := f.requestRecovery(identity(t, "nobody"), identity(t, "new2"), code); !errors.Is(err, api.ErrRecoveryRefused) {
		t.Errorf("unknown owner: %v", err)
	}
}

// TestServiceRecoveryDelay: a request made under a recovery delay cannot
// be completed before it (409 not_completable, with the time to wait);
// its owner can cancel it until then, for good; another owner cannot; a
// request left alone completes once the delay has passed.
func TestServiceRecoveryDelay(t *testing.T) {
	ctx := context.Background()
	f := newFixtureConfig(t, sqliteStore(t), func(c *authority.Config) { c.RecoveryDelay = time.Hour })
	owner, thief, other := identity(t, "owner"), identity(t, "thief"), identity(t, "other")
	code := f.enroll(owner)
	f.enroll(other)
	st, err := f.requestRecovery(owner, thief, code)
	if err != nil || !st.Completable.Equal(f.now.Add(time.Hour)) {
		t.Fatalf("request: %+v, %v", st, err)
	}
	complete := func() error {
		r := f.req(thief, "POST", "/v1/recoveries/"+st.ID.String()+"/complete", []byte("{}"))
		_, _, _, err := f.svc.CompleteRecovery(ctx, r, st.ID, f.sealed(r, api.NewRecoveryCode(), api.PurposeNewCode, st.Owner))
		return err
	}
	err = complete()
	if secs, _ := api.RetryAfter(err); !errors.Is(err, api.ErrNotCompletable) || secs != 3600 {
		t.Fatalf("complete before the delay: %v (%d s)", err, secs)
	}
	cancel := func(as *keyblob.Identity) (authority.RecoveryStatus, error) {
		st, _, err := f.svc.CancelRecovery(ctx, f.req(as, "POST", "/v1/recoveries/"+st.ID.String()+"/cancel", []byte("{}")), st.ID)
		return st, err
	}
	if _, err := cancel(other); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("another owner cancels: %v, want ErrNotFound", err)
	}
	if _, err := cancel(thief); !errors.Is(err, api.ErrUnauthenticated) {
		t.Errorf("the new identity cancels: %v, want ErrUnauthenticated", err)
	}
	if got, err := cancel(owner); err != nil || got.State != "cancelled" {
		t.Fatalf("the owner cancels: %+v, %v", got, err)
	}
	if _, err := cancel(owner); !errors.Is(err, api.ErrNotPending) {
		t.Errorf("cancelled twice: %v", err)
	}
	f.now = f.now.Add(time.Hour)
	if err := complete(); !errors.Is(err, api.ErrNotPending) {
		t.Errorf("complete a cancelled request: %v", err)
	}
	if kinds := auditKinds(t, f, owner); kinds["cancel"] != 1 {
		t.Errorf("audit kinds %v: want one cancel", kinds)
	}
	// A request left alone completes after the delay.
	if st, err = f.requestRecovery(owner, thief, code); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(time.Hour)
	if err := complete(); err != nil {
		t.Errorf("complete after the delay: %v", err)
	}
}

// auditKinds counts the kinds of the audit entries about owner.
func auditKinds(t *testing.T, f *fixture, owner *keyblob.Identity) map[string]int {
	t.Helper()
	page, err := f.svc.Audit(context.Background(), f.req(owner, "GET", "/v1/audit", nil), 0, api.MaxPage)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, e := range page.Entries {
		kinds[e.Kind.String()]++
	}
	return kinds
}

// TestServiceDepositReplay replays deposit requests of every outcome:
// each is ErrReplay the second time, since the nonce is used up whether
// the deposit is stored now (in its own transaction), was stored before
// or is refused.
func TestServiceDepositReplay(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, sqliteStore(t), 0)
	owner, other := identity(t, "owner"), identity(t, "other")
	f.enroll(owner)
	export := func(to *keyblob.Recipient, signer *keyblob.Identity) *keyblob.KeyBlob {
		b, err := keyblob.Export(keyblob.NewSessionKey(), to, &keyblob.ExportOptions{Description: "k", Signer: signer})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	stored := export(f.aut.Recipient(), owner)
	tests := []struct {
		name string
		blob *keyblob.KeyBlob
		want error
	}{
		{"a new deposit", stored, nil},
		{"a repeated serial", stored, nil},
		{"a blob to another recipient", export(other.Recipient(), owner), api.ErrWrongRecipient},
		{"a blob signed by another identity", export(f.aut.Recipient(), other), api.ErrBadBlobSignature},
	}
	for i, tt := range tests {
		r := f.req(owner, "POST", "/v1/deposits", tt.blob.Marshal())
		res, err := f.svc.Deposit(ctx, r, tt.blob)
		created := res.Created
		if !errors.Is(err, tt.want) || (err == nil && created != (i == 0)) {
			t.Fatalf("%s: created %v, %v, want %v", tt.name, created, err, tt.want)
		}
		if _, err := f.svc.Deposit(ctx, r, tt.blob); !errors.Is(err, api.ErrReplay) {
			t.Errorf("%s, replayed: %v, want ErrReplay", tt.name, err)
		}
	}
	ds, err := f.svc.Deposits(ctx, f.req(owner, "GET", "/v1/deposits", nil), 0, 10)
	if err != nil || len(ds) != 1 || ds[0].Serial != stored.Serial() {
		t.Fatalf("deposits: %d, %v, want the one stored", len(ds), err)
	}
}

// TestPolicyStored: the first service stores its policy; one started with
// another is refused, one without the operators' keys too; one started
// without asking applies the stored policy, so a request made under a
// quorum of 1 still needs its approval; a new policy applies to the
// requests made after it, not to those before.
func TestPolicyStored(t *testing.T) {
	ctx := context.Background()
	st := sqliteStore(t)
	op := identity(t, "operator")
	first := newFixture(t, st, 1, op)
	if p, err := first.svc.AdoptPolicy(ctx, true); err != nil || p.Version != 1 || p.Quorum != 1 {
		t.Fatalf("first adopt: %+v, %v", p, err)
	}
	owner, newID := identity(t, "owner"), identity(t, "new")
	code := first.enroll(owner)
	req, err := first.requestRecovery(owner, newID, code)
	if err != nil || req.State != "pending" || req.ApprovalsRequired != 1 {
		t.Fatalf("request: %+v, %v", req, err)
	}
	other := newFixture(t, st, 0)
	if _, err := other.svc.AdoptPolicy(ctx, true); !errors.Is(err, authority.ErrPolicyDiffers) {
		t.Errorf("another policy asked for: %v, want ErrPolicyDiffers", err)
	}
	if _, err := other.svc.AdoptPolicy(ctx, false); !errors.Is(err, authority.ErrPolicyDiffers) {
		t.Errorf("no operator keys: %v, want ErrPolicyDiffers", err)
	}
	restarted := newFixture(t, st, 0, op)
	if p, err := restarted.svc.AdoptPolicy(ctx, false); err != nil || p.Quorum != 1 {
		t.Fatalf("restart without flags: %+v, %v", p, err)
	}
	if got, err := restarted.svc.Recovery(ctx, restarted.req(newID, "GET", "/v1/recoveries/"+req.ID.String(), nil), req.ID); err != nil || got.State != "pending" || got.ApprovalsRequired != 1 {
		t.Fatalf("the request after a restart: %+v, %v", got, err)
	}
	if info, err := restarted.svc.Info(ctx); err != nil || info.ApprovalsRequired != 1 {
		t.Errorf("Info after the restart: %+v, %v (the stored policy asks for 1)", info, err)
	}
	p, err := restarted.svc.SetPolicy(ctx, authority.Policy{}, op.Recipient().SigningFingerprint())
	if err != nil || p.Version != 2 {
		t.Fatalf("set: %+v, %v", p, err)
	}
	// Another service on the store (an instance that did not set it) reports it too.
	if info, err := first.svc.Info(ctx); err != nil || info.ApprovalsRequired != 0 {
		t.Errorf("Info of another instance after the change: %+v, %v", info, err)
	}
	if got, _ := restarted.svc.Recovery(ctx, restarted.req(newID, "GET", "/v1/recoveries/"+req.ID.String(), nil), req.ID); got.ApprovalsRequired != 1 {
		t.Errorf("a new policy changed an earlier request: %+v", got)
	}
	later, err := restarted.requestRecovery(owner, identity(t, "newer"), code)
	if err != nil || later.State != "approved" || later.Policy != 2 {
		t.Errorf("a request under the new policy: %+v, %v", later, err)
	}
}

// TestStrangerFlood: 32 strangers send recovery requests for owners that
// do not exist as fast as they can; each is refused without a code check,
// so they take no code-check slot: the owner's right code, sent meanwhile,
// succeeds at its first or second try, and no attempt is counted against
// the owner.
func TestStrangerFlood(t *testing.T) {
	ctx := context.Background()
	f := newFixtureConfig(t, sqliteStore(t), func(c *authority.Config) { c.CodeChecks = 1 })
	owner := identity(t, "owner")
	code := f.enroll(owner)
	stop := make(chan struct{})
	var refused atomic.Int64
	var wg sync.WaitGroup
	for i := range 32 {
		stranger := identity(t, fmt.Sprintf("stranger %d", i))
		nobody := identity(t, fmt.Sprintf("nobody %d", i))
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := f.requestRecovery(nobody, stranger, api.NewRecoveryCode()); errors.Is(err, api.ErrRecoveryRefused) {
					refused.Add(1)
				}
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	var err error
	tries := 0
	for tries < 2 {
		tries++
		if _, err = f.requestRecovery(owner, identity(t, "new"), code); err == nil {
			break
		}
	}
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("the owner's right code during the flood, %d tries: %v", tries, err)
	}
	if o, _ := f.st.Owner(ctx, owner.Recipient().SigningFingerprint()); o.Failures != 0 {
		t.Errorf("%d attempts counted against the owner", o.Failures)
	}
	if refused.Load() == 0 {
		t.Error("no stranger was refused: the flood did not run")
	}
	t.Logf("the owner succeeded at try %d while %d stranger requests were refused", tries, refused.Load())
}

// TestPolicyTwoInstancesPostgres: two services on one PostgreSQL
// database cannot apply two policies: the second, started with another
// quorum, is refused, and one started without asking applies the first's.
func TestPolicyTwoInstancesPostgres(t *testing.T) {
	ctx := context.Background()
	st := postgresStore(t)
	op1, op2 := identity(t, "operator"), identity(t, "operator 2")
	if _, err := newFixture(t, st, 2, op1, op2).svc.AdoptPolicy(ctx, true); err != nil {
		t.Fatal(err)
	}
	if _, err := newFixture(t, st, 1, op1, op2).svc.AdoptPolicy(ctx, true); !errors.Is(err, authority.ErrPolicyDiffers) {
		t.Errorf("a second instance with a quorum of 1: %v, want ErrPolicyDiffers", err)
	}
	second := newFixture(t, st, 0, op1, op2)
	if p, err := second.svc.AdoptPolicy(ctx, false); err != nil || p.Quorum != 2 || p.Version != 1 {
		t.Fatalf("a second instance without flags: %+v, %v", p, err)
	}
	owner := identity(t, "owner")
	code := second.enroll(owner)
	if st, err := second.requestRecovery(owner, identity(t, "new"), code); err != nil || st.ApprovalsRequired != 2 || st.State != "pending" {
		t.Errorf("a request at the second instance: %+v, %v", st, err)
	}
}

// TestRecoverRestToSameIdentity: after one key was recovered to a new
// identity (which the owner is then bound to), the same identity, now the
// owner's, recovers the rest with the new code; a retired identity or
// another owner's cannot be a recovery's target.
func TestRecoverRestToSameIdentity(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, sqliteStore(t), 0)
	owner, newID, other := identity(t, "owner"), identity(t, "new"), identity(t, "other")
	code := f.enroll(owner)
	f.enroll(other)
	first, second := f.deposit(owner, "one"), f.deposit(owner, "two")
	recoverTo := func(to *keyblob.Identity, code api.RecoveryCode, serial *keyblob.Serial) (api.RecoveryCode, []api.RecoveredKey, error) {
		r := f.req(to, "POST", "/v1/recoveries", []byte("{}"))
		fp := owner.Recipient().SigningFingerprint()
		st, _, err := f.svc.RequestRecovery(ctx, r, authority.RecoveryInput{Owner: fp, To: to.Recipient(), Serial: serial,
			SealedCode: f.sealed(r, code, api.PurposeRecovery, fp)})
		if err != nil {
			return code, nil, err
		}
		next := api.NewRecoveryCode()
		c := f.req(to, "POST", "/v1/recoveries/x/complete", []byte("{}"))
		if _, _, _, err := f.svc.CompleteRecovery(ctx, c, st.ID, f.sealed(c, next, api.PurposeNewCode, st.Owner)); err != nil {
			return code, nil, err
		}
		keys, err := f.svc.RecoveredKeys(ctx, f.req(to, "GET", "/v1/recoveries/x/keys", nil), st.ID, 0, 100)
		return next, keys, err
	}
	s1 := first.Serial()
	code, keys, err := recoverTo(newID, code, &s1)
	if err != nil || len(keys) != 1 || keys[0].Serial != s1 {
		t.Fatalf("the first key: %d keys, %v", len(keys), err)
	}
	if _, _, err := recoverTo(owner, code, nil); !errors.Is(err, api.ErrIdentityBound) {
		t.Errorf("to the retired identity: %v, want ErrIdentityBound", err)
	}
	if _, _, err := recoverTo(other, code, nil); !errors.Is(err, api.ErrIdentityBound) {
		t.Errorf("to another owner's identity: %v, want ErrIdentityBound", err)
	}
	_, keys, err = recoverTo(newID, code, nil)
	if err != nil || len(keys) != 2 {
		t.Fatalf("the rest to the same identity: %d keys, %v", len(keys), err)
	}
	for _, k := range keys {
		want := map[keyblob.Serial]*keyblob.SessionKey{first.Serial(): first, second.Serial(): second}[k.Serial]
		got, err := keyblob.Import(k.Blob, newID, &keyblob.ImportOptions{Verify: f.aut.Recipient()})
		if err != nil || !got.Equal(want) {
			t.Errorf("key %s: %v", k.Serial, err)
		}
	}
}
