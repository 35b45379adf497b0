package authority_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority"
	"github.com/keyblob/keyblob/authority/api"
	"github.com/keyblob/keyblob/authority/client"
	"github.com/keyblob/keyblob/authority/pgstore"
	"github.com/keyblob/keyblob/internal/pgtest"
)

type server struct {
	*fixture
	srv    *httptest.Server
	client *client.Client
}

func newServer(t *testing.T, st authority.Store, quorum int, ops ...*keyblob.Identity) *server {
	t.Helper()
	return serve(t, newFixture(t, st, quorum, ops...))
}

// serve serves f's service over HTTP, with a client of it.
func serve(t *testing.T, f *fixture) *server {
	t.Helper()
	f.now = time.Now()
	h := authority.NewHandler(f.svc, &authority.HandlerOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	srv := httptest.NewServer(checkedHandler(t, h)) // every exchange checked against spec/escrow-api.yaml
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL, f.aut.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	c.HTTP = srv.Client()
	c.Now = func() time.Time { return f.now }
	return &server{fixture: f, srv: srv, client: c}
}

func TestEndToEnd(t *testing.T) { endToEnd(t, sqliteStore(t)) }

// TestEndToEndPostgres runs the same flow on a throwaway PostgreSQL
// (skipped where PostgreSQL is not installed, unless required).
func TestEndToEndPostgres(t *testing.T) { endToEnd(t, postgresStore(t)) }

// postgresStore opens a store on a new database of a throwaway
// PostgreSQL cluster.
func postgresStore(t *testing.T) authority.Store {
	dsn := pgtest.Start(t).NewDatabase(t)
	st, err := pgstore.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func endToEnd(t *testing.T, st authority.Store) {
	ctx := context.Background()
	s := newServer(t, st, 0)
	owner, newID := identity(t, "e2e-owner"), identity(t, "e2e-new")
	code, _, err := s.client.Enroll(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	want := map[keyblob.Serial]*keyblob.SessionKey{}
	for _, d := range []string{"disk", "mail", "backup <&>\x00"[:10]} {
		k := keyblob.NewSessionKey()
		if _, _, same, err := s.client.Deposit(ctx, owner, k, d); err != nil || !same {
			t.Fatalf("deposit %q: %v (same %v)", d, err, same)
		}
		want[k.Serial()] = k
	}
	ds, err := s.client.Deposits(ctx, owner)
	if err != nil || len(ds) != 3 {
		t.Fatalf("list: %d, %v", len(ds), err)
	}
	text, err := api.ParseRecoveryCode(strings.ToLower(code.String()))
	if err != nil || text != code {
		t.Fatalf("code text round trip: %v", err)
	}
	keys, newCode, _, err := s.client.Recover(ctx, newID, owner.Recipient().SigningFingerprint(), code, nil)
	if err != nil || len(keys) != 3 {
		t.Fatalf("recover: %d keys, %v", len(keys), err)
	}
	for _, k := range keys {
		got, err := keyblob.Import(k.Blob, newID, &keyblob.ImportOptions{Verify: s.aut.Recipient()})
		if err != nil || !got.Equal(want[k.Serial]) {
			t.Fatalf("import %s: %v", k.Serial, err)
		}
	}
	if newCode == code {
		t.Error("the recovery code was not replaced")
	}
	view, err := s.client.Audit(ctx, newID, 0)
	if err != nil || len(view.Entries) < 8 {
		t.Fatalf("audit: %d entries, %v", len(view.Entries), err)
	}
}

// TestRoutesMatchSpec checks every route, method and status code of
// spec/escrow-api.yaml against the handler: each documented operation
// exists, an undocumented method is 405, and every status the tests
// below provoke is documented for its route.
func TestRoutesMatchSpec(t *testing.T) {
	spec := readSpec(t)
	s := newServer(t, sqliteStore(t), 0)
	methods := []string{"GET", "POST", "PUT", "DELETE", "PATCH"}
	for path, ops := range spec {
		p := strings.NewReplacer("{id}", strings.Repeat("ab", 16), "{level}", "0", "{index}", "000", "{width}", "1").Replace(path)
		for _, m := range methods {
			resp := send(t, s, m, p, nil)
			_, documented := ops[strings.ToLower(m)]
			switch {
			case !documented && resp.StatusCode != http.StatusMethodNotAllowed:
				t.Errorf("%s %s: %d, want 405 (undocumented)", m, path, resp.StatusCode)
			case documented && !ops[strings.ToLower(m)][resp.StatusCode]:
				t.Errorf("%s %s: %d, not documented", m, path, resp.StatusCode)
			}
		}
	}
	if resp := send(t, s, "GET", "/v1/nothing", nil); resp.StatusCode != 404 {
		t.Errorf("unknown path: %d", resp.StatusCode)
	}
	ops := 0
	for _, m := range spec {
		ops += len(m)
	}
	if ops != 18 {
		t.Errorf("the spec has %d operations, the handler 18", ops)
	}
	if resp := send(t, s, "PUT", "/v1/deposits", nil); resp.Header.Get("Allow") == "" {
		t.Error("405 without Allow")
	}
}

// readSpec returns path -> method -> set of documented statuses.
func readSpec(t *testing.T) map[string]map[string]map[int]bool {
	b, err := os.ReadFile("../spec/escrow-api.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]yaml.Node `yaml:"paths"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]map[int]bool{}
	for path, ops := range doc.Paths {
		out[path] = map[string]map[int]bool{}
		for m, node := range ops {
			if m == "parameters" {
				continue
			}
			var op struct {
				Responses map[string]any `yaml:"responses"`
			}
			if err := node.Decode(&op); err != nil {
				t.Fatal(err)
			}
			codes := map[int]bool{}
			for c := range op.Responses {
				var n int
				for _, ch := range c {
					n = n*10 + int(ch-'0')
				}
				codes[n] = true
			}
			out[path][m] = codes
		}
	}
	return out
}

func send(t *testing.T, s *server, method, path string, body []byte, hdr ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, s.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := s.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestAuthorizationMatrix(t *testing.T) {
	ctx := context.Background()
	op1, op2 := identity(t, "op1"), identity(t, "op2")
	s := newServer(t, sqliteStore(t), 2, op1, op2)
	alice, bob, mallory := identity(t, "alice"), identity(t, "bob"), identity(t, "mallory")
	aliceCode, _, err := s.client.Enroll(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.client.Enroll(ctx, bob); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.client.Enroll(ctx, alice); !errors.Is(err, api.ErrIdentityBound) {
		t.Errorf("second enrolment: %v", err)
	}
	s.client.Deposit(ctx, alice, keyblob.NewSessionKey(), "alice's")
	// Bob never sees Alice's deposits.
	if ds, err := s.client.Deposits(ctx, bob); err != nil || len(ds) != 0 {
		t.Errorf("bob lists %d deposits, %v", len(ds), err)
	}
	// A blob Bob signed is refused for Alice; a blob not for the authority too.
	b, _ := keyblob.Export(keyblob.NewSessionKey(), s.aut.Recipient(), &keyblob.ExportOptions{Signer: bob})
	if _, _, _, err := s.client.DepositBlob(ctx, alice, b); !errors.Is(err, api.ErrBadBlobSignature) {
		t.Errorf("bob's blob as alice: %v", err)
	}
	b, _ = keyblob.Export(keyblob.NewSessionKey(), bob.Recipient(), &keyblob.ExportOptions{Signer: alice})
	if _, _, _, err := s.client.DepositBlob(ctx, alice, b); !errors.Is(err, api.ErrWrongRecipient) {
		t.Errorf("blob for bob: %v", err)
	}
	// An unknown owner and a wrong code are one answer.
	_, err1 := s.client.RequestRecovery(ctx, mallory, bob.Recipient().SigningFingerprint(), api.NewRecoveryCode(), nil)
	_, err2 := s.client.RequestRecovery(ctx, mallory, identity(t, "nobody").Recipient().SigningFingerprint(), api.NewRecoveryCode(), nil)
	if !errors.Is(err1, api.ErrRecoveryRefused) || err1.Error() != err2.Error() {
		t.Errorf("wrong code %v, unknown owner %v", err1, err2)
	}
	newID := identity(t, "alice-new")
	r, err := s.client.RequestRecovery(ctx, newID, alice.Recipient().SigningFingerprint(), aliceCode, nil)
	if err != nil || r.State != "pending" {
		t.Fatalf("request: %v %v", r.State, err)
	}
	id, _ := api.ParseRequestID(r.ID)
	// Strangers get 404, byte for byte like a missing request.
	if _, err := s.client.Recovery(ctx, mallory, id); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("stranger reads: %v", err)
	}
	missing := bodyOf(t, s, mallory, "GET", "/v1/recoveries/"+strings.Repeat("cd", 16))
	foreign := bodyOf(t, s, mallory, "GET", "/v1/recoveries/"+r.ID)
	if missing != foreign {
		t.Errorf("not yours %q != does not exist %q", foreign, missing)
	}
	if _, err := s.client.Complete(ctx, newID, id, alice.Recipient().SigningFingerprint(), api.NewRecoveryCode()); !errors.Is(err, api.ErrApprovalPending) {
		t.Errorf("complete before approvals: %v", err)
	}
	// Approvals: an owner is no operator; the same operator twice counts once.
	if _, err := s.client.Approve(ctx, bob, id); !errors.Is(err, api.ErrApprovalRefused) {
		t.Errorf("owner approves: %v", err)
	}
	if _, err := s.client.Approve(ctx, op1, id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.client.Approve(ctx, op1, id); !errors.Is(err, api.ErrAlreadyApproved) {
		t.Errorf("second approval: %v", err)
	}
	if r, _ := s.client.Recovery(ctx, op1, id); r.State != "pending" {
		t.Errorf("one approval of two: %s", r.State)
	}
	if _, err := s.client.Keys(ctx, newID, id); !errors.Is(err, api.ErrKeysUnavailable) {
		t.Errorf("keys before completion: %v", err)
	}
	if _, err := s.client.Approve(ctx, op2, id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.client.Complete(ctx, newID, id, alice.Recipient().SigningFingerprint(), api.NewRecoveryCode()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.client.Keys(ctx, mallory, id); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("stranger fetches keys: %v", err)
	}
	if ks, err := s.client.Keys(ctx, newID, id); err != nil || len(ks) != 1 {
		t.Errorf("keys: %d %v", len(ks), err)
	}
	if _, err := s.client.Deposits(ctx, alice); !errors.Is(err, api.ErrUnauthenticated) {
		t.Errorf("retired identity: %v", err)
	}
}

func bodyOf(t *testing.T, s *server, id *keyblob.Identity, method, target string) string {
	t.Helper()
	a, err := api.SignRequest(id, s.svc.Fingerprint(), method, target, nil, s.now)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(method, s.srv.URL+target, nil)
	api.SetAuthHeaders(req.Header, a)
	resp, err := s.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.Status + string(b)
}

func TestReplayAndWindow(t *testing.T) {
	ctx := context.Background()
	s := newServer(t, sqliteStore(t), 0)
	alice := identity(t, "alice")
	if _, _, err := s.client.Enroll(ctx, alice); err != nil {
		t.Fatal(err)
	}
	a, _ := api.SignRequest(alice, s.svc.Fingerprint(), "GET", "/v1/deposits", nil, s.now)
	do := func(a *api.Auth, target string) int {
		req, _ := http.NewRequest("GET", s.srv.URL+target, nil)
		api.SetAuthHeaders(req.Header, a)
		resp, err := s.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := do(a, "/v1/deposits"); got != 200 {
		t.Fatalf("first: %d", got)
	}
	if got := do(a, "/v1/deposits"); got != 401 {
		t.Errorf("replayed: %d", got)
	}
	b, _ := api.SignRequest(alice, s.svc.Fingerprint(), "GET", "/v1/deposits", nil, s.now)
	if got := do(b, "/v1/audit"); got != 401 {
		t.Errorf("redirected to another route: %d", got)
	}
	old, _ := api.SignRequest(alice, s.svc.Fingerprint(), "GET", "/v1/deposits", nil, s.now.Add(-api.MaxSkew-time.Second))
	if _, err := s.svc.Deposits(ctx, &api.Request{Method: "GET", Target: "/v1/deposits", Auth: old}, 0, 1); !errors.Is(err, api.ErrRequestExpired) {
		t.Errorf("old request: %v", err)
	}
}

// TestThrottleOverHTTP: after the threshold of wrong codes the owner's
// requests get 429 with Retry-After, the client's error says how long to
// wait, and after it the right code works.
func TestThrottleOverHTTP(t *testing.T) {
	ctx := context.Background()
	s := newServer(t, sqliteStore(t), 0)
	alice := identity(t, "alice")
	code, _, err := s.client.Enroll(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	owner := alice.Recipient().SigningFingerprint()
	for range authority.DefaultThrottleAfter {
		if _, err := s.client.RequestRecovery(ctx, identity(t, "x"), owner, api.NewRecoveryCode(), nil); !errors.Is(err, api.ErrRecoveryRefused) {
			t.Fatal(err)
		}
	}
	_, err = s.client.RequestRecovery(ctx, identity(t, "x"), owner, code, nil)
	var refused *client.APIError
	if !errors.Is(err, api.ErrThrottled) || !errors.As(err, &refused) || refused.Status != http.StatusTooManyRequests || refused.RetryAfter != time.Minute {
		t.Fatalf("throttled owner, right code: %v (%+v)", err, refused)
	}
	s.now = s.now.Add(time.Minute)
	if _, err := s.client.RequestRecovery(ctx, identity(t, "x"), owner, code, nil); err != nil {
		t.Errorf("right code after the wait: %v", err)
	}
}
