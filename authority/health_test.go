package authority_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority"
	"github.com/keyblob/keyblob/authority/api"
)

// unwritable is a store whose writes fail with fail once it is set, as a
// backend reports a full disk; its reads still answer.
type unwritable struct {
	authority.Store
	fail atomic.Pointer[authority.WriteError]
}

func (u *unwritable) Probe(ctx context.Context) error {
	if e := u.fail.Load(); e != nil {
		return e
	}
	return u.Store.(authority.Prober).Probe(ctx)
}

func (u *unwritable) PutDeposit(ctx context.Context, n authority.Nonce, d authority.Deposit, e api.AuditEntry) (api.AuditEntry, error) {
	if e := u.fail.Load(); e != nil {
		return api.AuditEntry{}, e
	}
	return u.Store.PutDeposit(ctx, n, d, e)
}

// TestUnwritableStore checks what a store that answers but cannot write
// gives: /healthz 503 naming the reason (a new handler: the outcome of
// a check is kept for seconds), a deposit store_unavailable, which the
// client reports as api.ErrStoreUnavailable, and a store error counted.
func TestUnwritableStore(t *testing.T) {
	st := &unwritable{Store: sqliteStore(t)}
	s := newServer(t, st, 0)
	if got := healthz(t, s); got != "200 ok\n" {
		t.Fatalf("healthz of a writable store: %q", got)
	}
	alice := identity(t, "alice")
	if _, _, err := s.client.Enroll(t.Context(), alice); err != nil {
		t.Fatal(err)
	}
	for _, reason := range []string{authority.WriteDiskFull, authority.WriteReadOnly, authority.WriteIO} {
		st.fail.Store(&authority.WriteError{Reason: reason, Err: errors.New("a database error")})
		s := newServerAs(t, s, st)
		if got, want := healthz(t, s), "503 store cannot write: "+reason+"\n"; got != want {
			t.Errorf("healthz: %q, want %q", got, want)
		}
		_, _, _, err := s.client.Deposit(t.Context(), alice, keyblob.NewSessionKey(), "d")
		if !errors.Is(err, api.ErrStoreUnavailable) || errors.Is(err, api.ErrUnavailable) ||
			!strings.Contains(err.Error(), "cannot write its database") || strings.Contains(err.Error(), "a database error") {
			t.Errorf("deposit: %v, want store_unavailable without the database's text", err)
		}
		if n := metric(t, s, "keyblob_authority_store_errors_total"); n != 1 {
			t.Errorf("store errors: %v, want 1", n)
		}
	}
}

// TestRefusalsAreNotStoreErrors makes the code checks busy: the requests
// turned away (429 busy) are counted by reason, and not as store errors.
func TestRefusalsAreNotStoreErrors(t *testing.T) {
	f := &fixture{t: t, aut: identity(t, "authority"), now: time.Now()}
	svc, err := authority.New(&authority.Config{Store: sqliteStore(t), Identity: f.aut, Argon2: fastArgon2,
		CodeChecks: 1, CodeCheckWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	s := serve(t, f)
	const n = 16
	var busy atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			id, err := keyblob.GenerateIdentity(keyblob.KindX25519)
			if err != nil {
				t.Error(err)
				return
			}
			_, _, err = s.client.Enroll(t.Context(), id)
			switch {
			case errors.Is(err, api.ErrBusy):
				busy.Add(1)
			case err != nil:
				t.Errorf("enroll %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if busy.Load() == 0 {
		t.Skip("no enrolment waited for a code check")
	}
	if got := metric(t, s, `keyblob_authority_refused_total{reason="busy"}`); got != float64(busy.Load()) {
		t.Errorf("refused busy %v, want %d", got, busy.Load())
	}
	for name, want := range map[string]float64{`keyblob_authority_refused_total{reason="throttled"}`: 0,
		"keyblob_authority_store_errors_total": 0} {
		if got := metric(t, s, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

// healthz returns the status code and body of GET /healthz.
func healthz(t *testing.T, s *server) string {
	t.Helper()
	resp, err := s.srv.Client().Get(s.srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strconv.Itoa(resp.StatusCode) + " " + string(b)
}

// metric returns the value of the sample name (with its labels, as
// /metrics writes them); a missing one fails the test.
func metric(t *testing.T, s *server, name string) float64 {
	t.Helper()
	req, _ := http.NewRequest("GET", s.srv.URL+"/metrics", nil)
	resp, err := s.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			var f float64
			if _, err := fmt.Sscan(v, &f); err != nil {
				t.Fatalf("%s: %v", sc.Text(), err)
			}
			return f
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return 0
}
