package console

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/keyblob/keyblob/authority"
	"github.com/keyblob/keyblob/authority/api"
	"github.com/keyblob/keyblob/authority/pgstore"
	"github.com/keyblob/keyblob/internal/pgtest"
)

// Figures of the console with a full store: 100,000 audit entries and
// 10,000 owners. They take minutes to fill, so they run only with
// KEYBLOB_CONSOLE_FIGURES=1:
//
//	KEYBLOB_CONSOLE_FIGURES=1 go test ./authority/console -run TestPageTimes -v
const (
	figureOwners  = 10_000
	figureEntries = 100_000
	pageBudget    = 200 * time.Millisecond
)

func TestPageTimesSQLite(t *testing.T) {
	figures(t)
	pageTimes(t, newFixture(t, nil, false))
}

func TestPageTimesPostgreSQL(t *testing.T) {
	figures(t)
	dsn := pgtest.Start(t).NewDatabase(t)
	s, err := pgstore.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	pageTimes(t, newFixture(t, s, false))
}

func figures(t *testing.T) {
	if os.Getenv("KEYBLOB_CONSOLE_FIGURES") != "1" {
		t.Skip("set KEYBLOB_CONSOLE_FIGURES=1 to fill a store with 100,000 entries and time the pages")
	}
}

// pageTimes fills f's store and logs each page's server time (the
// median of 7 renders), failing a page over pageBudget.
func pageTimes(t *testing.T, f *fixture) {
	start := time.Now()
	fill(t, f)
	t.Logf("filled %d owners and %d audit entries in %s", figureOwners, figureEntries, time.Since(start).Round(time.Second))
	cookie := f.signIn()
	owner := url.QueryEscape(f.owner.ID.String())
	for _, p := range []string{"/console/", "/console/recoveries", "/console/owners?fp=" + owner, "/console/audit",
		"/console/audit?kind=deposit", "/console/audit?owner=" + owner, "/console/audit?before=50000",
		"/console/audit?kind=code_attempt&before=60000"} {
		var times []time.Duration
		for range 7 {
			t0 := time.Now()
			w := f.do("GET", p, cookie, nil)
			times = append(times, time.Since(t0))
			if w.Code != http.StatusOK {
				t.Fatalf("%s: %d", p, w.Code)
			}
		}
		slices.Sort(times)
		t.Logf("%-50s median %7.2f ms, max %7.2f ms", p, ms(times[3]), ms(times[6]))
		if times[3] > pageBudget {
			t.Errorf("%s: median %s, over %s", p, times[3], pageBudget)
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// fill writes owners (an enroll entry each, every tenth throttled) and
// then deposits, code attempts and releases spread over 30 days, until
// the log holds figureEntries entries; 32 writers at once, so that the
// stores commit in groups.
func fill(t *testing.T, f *fixture) {
	ctx := t.Context()
	head, err := f.store.AuditHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range 32 {
		wg.Go(func() {
			for i := range jobs {
				if err := fillOne(ctx, f, i); err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
			}
		})
	}
	for i := int(head.Seq); i < figureEntries; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
}

var fillKinds = []api.AuditKind{api.AuditDeposit, api.AuditCodeAttempt, api.AuditRelease, api.AuditDeposit}

func fillOne(ctx context.Context, f *fixture, i int) error {
	at := f.now.Add(-time.Duration(i%(30*24)) * time.Hour)
	if i < figureOwners {
		id := fingerprint()
		o := authority.Owner{ID: id, Recipient: "keyblob:x25519:filled", Signer: id, Verifier: []byte("v"), Created: at}
		if i%10 == 0 {
			o.Failures, o.LastFailure = 5+i%7, at
		}
		_, err := f.store.CreateOwner(ctx, o, entry(api.AuditEnroll, id, at))
		return err
	}
	e := entry(fillKinds[i%len(fillKinds)], fingerprint(), at)
	var ref [16]byte
	rand.Read(ref[:])
	e.Ref, e.Detail = ref, fmt.Sprintf(`{"n":%d}`, i)
	_, err := f.store.AppendAudit(ctx, e)
	return err
}
