package console

import (
	"crypto/rand"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority"
	"github.com/keyblob/keyblob/authority/api"
	"github.com/keyblob/keyblob/authority/sqlitestore"
	"github.com/keyblob/keyblob/password"
)

var fastArgon2 = password.Params{Time: 1, MemoryKiB: password.MinMemoryKiB, Threads: 1}

// fixture is an authority with a console, two operators, an outsider,
// an owner with deposits and a pending recovery request that one of the
// two operators it needs approved.
type fixture struct {
	t        *testing.T
	store    authority.Store
	svc      *authority.Service
	console  *Console
	handler  http.Handler
	aut      *keyblob.Identity
	ops      []*keyblob.Identity
	outsider *keyblob.Identity
	owner    authority.Owner
	pending  authority.Recovery
	mu       sync.Mutex
	now      time.Time
}

func identity(t testing.TB) *keyblob.Identity {
	t.Helper()
	id, err := keyblob.GenerateIdentity(keyblob.KindX25519)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// advance moves the fixture's clock on.
func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// newFixture opens a SQLite store in a new directory, or uses store.
func newFixture(t *testing.T, store authority.Store, secure bool) *fixture {
	t.Helper()
	if store == nil {
		s, err := sqlitestore.Open(filepath.Join(t.TempDir(), "authority.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		store = s
	}
	f := &fixture{t: t, store: store, aut: identity(t), ops: []*keyblob.Identity{identity(t), identity(t)},
		outsider: identity(t), now: time.Now().UTC()}
	var ops []*keyblob.Recipient
	for _, op := range f.ops {
		ops = append(ops, op.Recipient())
	}
	svc, err := authority.New(&authority.Config{Store: store, Identity: f.aut, Argon2: fastArgon2, Now: f.clock,
		Operators: ops, Quorum: 2, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	if f.console, err = New(&Options{Service: svc, Operators: ops, Secure: secure,
		LastVerify: func() (Verification, bool) {
			return Verification{Time: f.now.Add(-time.Hour), OK: true, Entries: 7, Message: "the chain and tree verify"}, true
		}}); err != nil {
		t.Fatal(err)
	}
	f.handler = authority.NewHandler(svc, &authority.HandlerOptions{Console: f.console,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	f.records()
	return f
}

func fingerprint() keyblob.Fingerprint {
	var f keyblob.Fingerprint
	rand.Read(f[:])
	return f
}

func entry(kind api.AuditKind, owner keyblob.Fingerprint, at time.Time) api.AuditEntry {
	return api.AuditEntry{Time: at, Kind: kind, Owner: owner, Actor: owner, Detail: `{}`}
}

// records writes the owner, two deposits and the pending request with
// the first operator's approval, straight into the store.
func (f *fixture) records() {
	t, ctx := f.t, f.t.Context()
	id := fingerprint()
	f.owner = authority.Owner{ID: id, Recipient: "keyblob:x25519:owner", Signer: id, Verifier: []byte("VERIFIER-SECRET-BYTES"),
		Created: f.now.Add(-48 * time.Hour), Failures: 6, LastFailure: f.now.Add(-time.Minute)}
	if _, err := f.store.CreateOwner(ctx, f.owner, entry(api.AuditEnroll, id, f.owner.Created)); err != nil {
		t.Fatal(err)
	}
	f.owner.Version = 1
	for i := range 2 {
		var sn keyblob.Serial
		rand.Read(sn[:])
		d := authority.Deposit{Owner: id, Serial: sn, Description: "key", Blob: []byte("kblb blob"), Signer: id,
			Created: f.now.Truncate(time.Second), Deposited: f.now}
		n := authority.Nonce{Signer: id, Expires: f.now.Add(time.Hour)}
		rand.Read(n.Value[:])
		if _, err := f.store.PutDeposit(ctx, n, d, entry(api.AuditDeposit, id, f.now.Add(time.Duration(i)-24*time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	opFPs := []keyblob.Fingerprint{f.ops[0].Recipient().SigningFingerprint(), f.ops[1].Recipient().SigningFingerprint()}
	slices.SortFunc(opFPs, func(a, b keyblob.Fingerprint) int { return strings.Compare(string(a[:]), string(b[:])) })
	r := authority.Recovery{Owner: id, OldSigner: id, To: "keyblob:x25519:new", ToSigner: fingerprint(),
		State: authority.RecoveryPending, Created: f.now, Completable: f.now.Add(20 * time.Hour),
		Expires: f.now.Add(44 * time.Hour), Policy: 1, Quorum: 2, Operators: opFPs}
	rand.Read(r.ID[:])
	re := entry(api.AuditRecoveryRequest, id, f.now)
	re.Ref = r.ID
	if _, err := f.store.CreateRecovery(ctx, r, f.owner, re); err != nil {
		t.Fatal(err)
	}
	f.owner.Version++
	op := f.ops[0].Recipient().SigningFingerprint()
	if _, err := f.store.AddApproval(ctx, r.ID, authority.Approval{Operator: op, Time: f.now}, api.AuditEntry{Time: f.now,
		Kind: api.AuditApproval, Owner: id, Actor: op, Ref: r.ID, Detail: `{"approvals":1}`}); err != nil {
		t.Fatal(err)
	}
	f.pending = r
}

// link returns a sign-in link signed by id, issued at the fixture's
// time less age, valid for validity.
func (f *fixture) link(id *keyblob.Identity, age, validity time.Duration) string {
	f.t.Helper()
	tok, err := api.NewConsoleToken(id, f.svc.Fingerprint(), f.clock().Add(-age), validity)
	if err != nil {
		f.t.Fatal(err)
	}
	return api.ConsoleLoginPath + "?t=" + url.QueryEscape(tok)
}

// do serves one request, with the cookie if not empty.
func (f *fixture) do(method, target, cookie string, form url.Values) *httptest.ResponseRecorder {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, target, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != "" {
		r.AddCookie(&http.Cookie{Name: cookieName, Value: cookie})
	}
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, r)
	return w
}

// signIn opens a fresh link of the first operator and returns the
// session cookie's value.
func (f *fixture) signIn() string {
	f.t.Helper()
	w := f.do("GET", f.link(f.ops[0], 0, 5*time.Minute), "", nil)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/" {
		f.t.Fatalf("sign-in: %d %s", w.Code, w.Body)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == cookieName {
			return c.Value
		}
	}
	f.t.Fatal("sign-in set no cookie")
	return ""
}

// kinds returns the kinds of the log's entries, in order.
func (f *fixture) kinds() []api.AuditKind {
	es, err := f.store.Audit(f.t.Context(), keyblob.Fingerprint{}, 0, api.MaxPage)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []api.AuditKind
	for _, e := range es {
		out = append(out, e.Kind)
	}
	return out
}

func decodeToken(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
func encodeToken(b []byte) string          { return base64.RawURLEncoding.EncodeToString(b) }
