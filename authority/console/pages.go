package console

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority"
	"github.com/keyblob/keyblob/authority/api"
)

// Page sizes and the charts' span.
const (
	pageSize   = 50
	chartDays  = 30
	healthTTL  = 5 * time.Second
	ownerLimit = 20
)

// overviewData is the overview page's.
type overviewData struct {
	Checkpoint api.Checkpoint
	Newest     *api.AuditEntry
	NewestAge  time.Duration
	Verified   *Verification
	Health     error
	Throttled  []ownerRow
	Charts     []chart
	Pending    int
}

func (c *Console) overview(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var d overviewData
	var err error
	if d.Checkpoint, _, err = c.svc.Checkpoint(ctx); err != nil {
		c.fail(w, r, err)
		return
	}
	now := c.svc.Now()
	newest, err := c.svc.Reports().AuditFiltered(ctx, authority.AuditFilter{}, 0, 1)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if len(newest) == 1 {
		d.Newest, d.NewestAge = &newest[0], now.Sub(newest[0].Time)
	}
	if c.verified != nil {
		if v, ok := c.verified(); ok {
			d.Verified = &v
		}
	}
	d.Health = c.healthOf(ctx)
	if d.Throttled, err = c.throttled(ctx); err == nil {
		d.Charts, err = c.charts(ctx, now)
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "overview", sessionOf(r), page{Title: "Overview", Nav: "overview", Data: d})
}

// healthOf returns the store's health, checked at most every healthTTL.
func (c *Console) healthOf(ctx context.Context) error {
	c.health.mu.Lock()
	defer c.health.mu.Unlock()
	if now := time.Now(); now.Sub(c.health.at) > healthTTL {
		c.health.err, c.health.at = c.svc.Health(ctx), now
	}
	return c.health.err
}

// ownerRow is an owner as the console shows it: never a key, code or
// verifier.
type ownerRow struct {
	ID, Signer keyblob.Fingerprint
	Created    time.Time
	Failures   int
	Last       time.Time // the last failed check
	Until      time.Time // throttled until; zero if not
	Activity   authority.Activity
}

func (c *Console) row(o authority.Owner) ownerRow {
	return ownerRow{ID: o.ID, Signer: o.Signer, Created: o.Created, Failures: o.Failures, Last: o.LastFailure,
		Until: c.svc.ThrottledUntil(o)}
}

func (c *Console) throttled(ctx context.Context) ([]ownerRow, error) {
	os, err := c.svc.Reports().Throttled(ctx, c.svc.ThrottleAfter(), ownerLimit)
	rows := make([]ownerRow, len(os))
	for i, o := range os {
		rows[i] = c.row(o)
	}
	return rows, err
}

// recoveryRow is a recovery request with what the page shows of it.
type recoveryRow struct {
	authority.RecoveryStatus
	Approved int
	Open     bool          // pending: it may still complete
	Until    time.Duration // to its completable time; <= 0: completable
	Approve  string        // the command an operator runs
	Entries  template.URL  // the page of its audit entries
}

type recoveriesData struct {
	Sections []recoverySection
}

type recoverySection struct {
	Title, State string
	Rows         []recoveryRow
	More         template.URL // the next page, "" if none
}

var recoveryStates = []struct {
	title string
	state authority.RecoveryState
}{{"Pending", authority.RecoveryPending}, {"Completed", authority.RecoveryCompleted}, {"Cancelled", authority.RecoveryCancelled}}

func (c *Console) recoveries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	before, err := optionalInt(q.Get("before"))
	if err != nil {
		c.badRequest(w, r, "before is a time in nanoseconds")
		return
	}
	var d recoveriesData
	for _, st := range recoveryStates {
		if only := q.Get("state"); only != "" && only != st.state.String() {
			continue
		}
		sec, err := c.section(r, st.title, st.state, before)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		d.Sections = append(d.Sections, sec)
	}
	c.render(w, r, http.StatusOK, "recoveries", sessionOf(r), page{Title: "Recovery requests", Nav: "recoveries", Data: d})
}

func (c *Console) section(r *http.Request, title string, state authority.RecoveryState, before int64) (recoverySection, error) {
	rs, err := c.svc.Reports().Recoveries(r.Context(), state, before, pageSize)
	sec := recoverySection{Title: title, State: state.String()}
	now := c.svc.Now()
	for _, rec := range rs {
		v := url.Values{"owner": {rec.Owner.String()}, "ref": {rec.ID.String()}}
		sec.Rows = append(sec.Rows, recoveryRow{RecoveryStatus: c.svc.Status(rec), Approved: c.svc.Approvals(rec),
			Open:  rec.State == authority.RecoveryPending,
			Until: rec.Completable.Sub(now), Approve: approveCommand(r, rec.ID), Entries: pageURL("/console/audit", v)})
	}
	if len(rs) == pageSize {
		v := url.Values{"state": {state.String()}, "before": {strconv.FormatInt(rs[len(rs)-1].Created.UnixNano(), 10)}}
		sec.More = pageURL("/console/recoveries", v)
	}
	return sec, err
}

// approveCommand is the command an operator runs to approve request id
// at this authority: approving needs the operator's private key, which
// never enters a browser.
func approveCommand(r *http.Request, id api.RequestID) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return "keyblob authority approve " + id.String() + " -i OPERATOR --authority " + scheme + "://" + r.Host
}

type ownersData struct {
	Query     string
	Found     *ownerRow
	NotFound  bool
	Throttled []ownerRow
}

func (c *Console) owners(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	d := ownersData{Query: r.URL.Query().Get("fp")}
	var err error
	if d.Query != "" {
		key, perr := api.ParseFingerprint("owner", d.Query)
		if perr != nil {
			c.badRequest(w, r, "That is not a fingerprint (keyblob id show prints one).")
			return
		}
		d.Found, d.NotFound, err = c.lookup(ctx, key)
	}
	if err == nil {
		d.Throttled, err = c.throttled(ctx)
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "owners", sessionOf(r), page{Title: "Owners", Nav: "owners", Data: d})
}

// lookup finds the owner key names, with its activity.
func (c *Console) lookup(ctx context.Context, key keyblob.Fingerprint) (*ownerRow, bool, error) {
	o, err := c.svc.LookupOwner(ctx, key)
	if errors.Is(err, api.ErrNotFound) {
		return nil, true, nil
	} else if err != nil {
		return nil, false, err
	}
	row := c.row(o)
	row.Activity, err = c.svc.Reports().OwnerActivity(ctx, o.ID)
	return &row, false, err
}

type auditData struct {
	Kinds      []string
	Kind       string
	Owner      string
	Ref        string
	Checkpoint api.Checkpoint
	Entries    []auditRow
	Older      template.URL
}

type auditRow struct {
	api.AuditEntry
	Detail   string
	Verified bool
	Pending  bool // newer than the checkpoint
}

func (c *Console) audit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, before, err := auditQuery(q)
	if err != nil {
		c.badRequest(w, r, err.Error())
		return
	}
	d := auditData{Kind: q.Get("kind"), Owner: q.Get("owner"), Ref: q.Get("ref")}
	for k := api.AuditEnroll; k.Valid(); k++ {
		d.Kinds = append(d.Kinds, k.String())
	}
	if d.Checkpoint, _, err = c.svc.Checkpoint(r.Context()); err != nil {
		c.fail(w, r, err)
		return
	}
	es, err := c.svc.Reports().AuditFiltered(r.Context(), f, before, pageSize)
	if err == nil {
		d.Entries, err = c.verify(r.Context(), d.Checkpoint, es)
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if len(es) == pageSize {
		q.Set("before", strconv.FormatUint(es[len(es)-1].Seq, 10))
		d.Older = pageURL("/console/audit", q)
	}
	c.render(w, r, http.StatusOK, "audit", sessionOf(r), page{Title: "Audit log", Nav: "audit", Data: d})
}

// auditQuery reads the audit page's filters.
func auditQuery(q url.Values) (authority.AuditFilter, uint64, error) {
	var f authority.AuditFilter
	var err error
	if k := q.Get("kind"); k != "" {
		if f.Kind, err = api.ParseAuditKind(k); err != nil {
			return f, 0, errors.New("no such kind of entry")
		}
	}
	if o := q.Get("owner"); o != "" {
		if f.Owner, err = api.ParseFingerprint("owner", o); err != nil {
			return f, 0, errors.New("the owner is not a fingerprint")
		}
	}
	if ref := q.Get("ref"); ref != "" {
		id, err := api.ParseRequestID(ref)
		if err != nil {
			return f, 0, errors.New("the reference is not 32 hexadecimal digits")
		}
		f.Ref = id
	}
	before, err := optionalInt(q.Get("before"))
	if err != nil || before < 0 {
		return f, 0, errors.New("before is a sequence number")
	}
	return f, uint64(before), nil
}

// verify checks each entry's inclusion in the checkpoint c, with the
// proof the service computes from the stored tree: what a client would
// check, done here so that the page says which entries the signed tree
// holds.
func (c *Console) verify(ctx context.Context, cp api.Checkpoint, es []api.AuditEntry) ([]auditRow, error) {
	rows := make([]auditRow, len(es))
	for i := range es {
		rows[i] = auditRow{AuditEntry: es[i], Detail: formatDetail(&es[i])}
		if es[i].Seq > cp.Size {
			rows[i].Pending = true
			continue
		}
		var proof tlog.RecordProof
		proof, err := c.svc.InclusionProof(ctx, es[i].Seq, cp.Size)
		if err != nil {
			return nil, err
		}
		rows[i].Verified = api.VerifyInclusion(cp, &es[i], proof) == nil
	}
	return rows, nil
}

// pageURL is the console's path with the query v, which url.Values
// encodes: a trusted URL, so that the template does not escape its & and
// = again.
func pageURL(path string, v url.Values) template.URL {
	return template.URL(path + "?" + v.Encode())
}

// optionalInt parses a decimal parameter, 0 for none.
func optionalInt(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != s {
		return 0, errors.New("not a number")
	}
	return n, nil
}
