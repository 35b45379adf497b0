package authority

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/keyblob/keyblob/authority/api"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// HandlerOptions are the optional parts of NewHandler.
type HandlerOptions struct {
	// Logger receives one line per request (method, route, status,
	// duration) and the causes of server errors; nil means slog.Default().
	Logger *slog.Logger
	// Registerer, if set, also receives the handler's metrics; /metrics
	// always serves them.
	Registerer prometheus.Registerer
	// SourceRate and SourceBurst limit the requests that run Argon2id
	// (enrolment, recovery requests and completions) per source (IPv4
	// /24, IPv6 /64): per second and at once; 0 means DefaultSourceRate
	// and DefaultSourceBurst, a negative SourceRate no limit (behind a
	// proxy that limits, where every request has the proxy's address).
	// Beyond them a request is 429 busy.
	SourceRate  float64
	SourceBurst int
	// Collectors are more metrics for /metrics (a Listener's).
	Collectors []prometheus.Collector
	// Console, if set, serves the operator console (authority/console)
	// under /console/, logged and counted as every route; its sign-in
	// links are limited per source as SourceRate says.
	Console http.Handler
}

// Handler serves the protocol of spec/escrow-api.md over HTTP for a
// Service: the routes of section 7, /healthz and /metrics.
type Handler struct {
	svc      *Service
	mux      *http.ServeMux
	log      *slog.Logger
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	errs     prometheus.Counter
	sources  *sourceLimits
	refused  *prometheus.CounterVec
	health   healthCache
}

// NewHandler returns the handler of svc.
func NewHandler(svc *Service, opts *HandlerOptions) *Handler {
	if opts == nil {
		opts = &HandlerOptions{}
	}
	h := &Handler{svc: svc, mux: http.NewServeMux(), log: opts.Logger, sources: newSourceLimits(opts.SourceRate, opts.SourceBurst)}
	if h.log == nil {
		h.log = slog.Default()
	}
	reg := prometheus.NewRegistry()
	h.metrics(reg)
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(h.requests, h.latency, h.errs, h.refused)
	}
	reg.MustRegister(opts.Collectors...)
	h.mux.HandleFunc("GET /healthz", h.healthz)
	h.mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	h.routes()
	if opts.Console != nil {
		h.mux.Handle("/console/", opts.Console)
		h.mux.HandleFunc("GET /console/login", h.limited(opts.Console.ServeHTTP))
	}
	return h
}

func (h *Handler) metrics(reg *prometheus.Registry) {
	h.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "keyblob_authority_requests_total",
		Help: "Requests by route and status."}, []string{"route", "code"})
	h.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "keyblob_authority_request_seconds",
		Help: "api.Request latency by route.", Buckets: prometheus.DefBuckets}, []string{"route"})
	h.errs = prometheus.NewCounter(prometheus.CounterOpts{Name: "keyblob_authority_store_errors_total",
		Help: "Requests that failed because the store did not answer or could not write."})
	h.refused = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "keyblob_authority_refused_total",
		Help: refusedHelp()}, []string{"reason"})
	for _, r := range refusals {
		h.refused.WithLabelValues(r.reason)
	}
	reg.MustRegister(h.requests, h.latency, h.errs, h.refused)
}

// refusedHelp describes keyblob_authority_refused_total from the table of
// refusals.
func refusedHelp() string {
	help := "Requests turned away (429) to protect the service, by reason:"
	for i, r := range refusals {
		sep := ";"
		if i == len(refusals)-1 {
			sep = "."
		}
		help += fmt.Sprintf(" %s, %s%s", r.reason, r.when, sep)
	}
	return help
}

// limited refuses, 429 busy, a request whose source is over its limit
// (HandlerOptions.SourceRate), before it is read.
func (h *Handler) limited(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h.sources.allow(r, time.Now()); err != nil {
			h.fail(w, r, err)
			return
		}
		next(w, r)
	}
}

// Routes are the method patterns of the protocol.
func (h *Handler) routes() {
	h.mux.HandleFunc("GET /v1/authority", h.info)
	h.mux.HandleFunc("POST /v1/enroll", h.limited(h.signed(h.enroll)))
	h.mux.HandleFunc("POST /v1/deposits", h.signed(h.deposit))
	h.mux.HandleFunc("GET /v1/deposits", h.signed(h.deposits))
	h.mux.HandleFunc("GET /v1/audit", h.signed(h.audit))
	h.mux.HandleFunc("POST /v1/recoveries", h.limited(h.signed(h.createRecovery)))
	h.mux.HandleFunc("GET /v1/recoveries/{id}", h.signed(h.recovery))
	h.mux.HandleFunc("POST /v1/recoveries/{id}/complete", h.limited(h.signed(h.complete)))
	h.mux.HandleFunc("POST /v1/recoveries/{id}/approvals", h.signed(h.approve))
	h.mux.HandleFunc("POST /v1/recoveries/{id}/cancel", h.signed(h.cancel))
	h.mux.HandleFunc("GET /v1/recoveries/{id}/keys", h.signed(h.keys))
	h.logRoutes()
}

// statusWriter remembers the status for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// ServeHTTP routes r, answering unknown paths and methods with the
// protocol's JSON errors, and logs and counts it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	_, pattern := h.mux.Handler(r)
	route := pattern
	if pattern == "" {
		route = "unmatched"
		h.unmatched(sw, r, h.mux)
	} else {
		h.mux.ServeHTTP(sw, r) // sets the path values
	}
	code := strconv.Itoa(sw.status)
	h.requests.WithLabelValues(route, code).Inc()
	h.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
	h.log.Info("request", "method", r.Method, "route", route, "status", sw.status, "duration", time.Since(start))
}

// discard captures what the mux would answer for an unmatched request.
type discard struct {
	header http.Header
	status int
}

func (d *discard) Header() http.Header         { return d.header }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(code int)        { d.status = code }

func (h *Handler) unmatched(w http.ResponseWriter, r *http.Request, mux http.Handler) {
	d := &discard{header: http.Header{}}
	mux.ServeHTTP(d, r)
	switch d.status {
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", d.header.Get("Allow"))
		h.fail(w, r, api.ErrMethod)
	case http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		// A path the mux would clean: not one of the protocol's.
		h.fail(w, r, api.ErrNotFound)
	default:
		h.fail(w, r, api.ErrNotFound)
	}
}

// healthz answers from the last health check of the store (Service.Health)
// if it is younger than healthTTL, else checks again, so that frequent
// probes cost the store one small write every healthTTL.
func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := h.health.check(r.Context(), h.svc.Health, h.log); err != nil {
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, unhealthyReason(err)+"\n")
		return
	}
	io.WriteString(w, "ok\n")
}

// reply writes a JSON body.
func (h *Handler) reply(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		h.log.Error("encoding a response", "error", err)
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal","message":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// fail writes the error response of err, decided by statusTable.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, code, msg := api.Outcome(err)
	if reason := refusalOf(err); reason != "" {
		h.refused.WithLabelValues(reason).Inc()
	}
	if status >= 500 {
		h.log.Error("request failed", "method", r.Method, "route", r.Pattern, "error", err)
		if storeFailure(err) {
			h.errs.Inc()
		}
	}
	if secs, ok := api.RetryAfter(err); ok {
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	} else if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	h.reply(w, status, api.ErrorV1{Error: code, Message: msg})
}

// storeFailure reports whether err is the store's: it did not answer
// (ErrUnavailable, but not for a client that went away) or cannot write
// (ErrStoreUnavailable). Refusals (429) are not.
func storeFailure(err error) bool {
	switch {
	case errors.Is(err, api.ErrStoreUnavailable):
		return true
	case errors.Is(err, context.Canceled):
		return false
	}
	return errors.Is(err, api.ErrUnavailable)
}

func (h *Handler) info(w http.ResponseWriter, r *http.Request) {
	if err := h.plainRequest(w, r, false); err != nil {
		h.fail(w, r, err)
		return
	}
	i, err := h.svc.Info(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.reply(w, http.StatusOK, api.InfoV1{Protocol: api.ProtocolName, Recipient: i.Recipient.String(),
		Fingerprint: i.Recipient.Fingerprint().String(), Signer: i.Recipient.SigningFingerprint().String(),
		Time: api.FormatTime(i.Time), MaxSkewSeconds: int(api.MaxSkew / time.Second), MaxBodyBytes: api.MaxBody,
		MaxPage: api.MaxPage, MaxFailures: h.svc.throttle.after, ApprovalsRequired: i.ApprovalsRequired,
		RecoveryTTLSeconds: int64(i.RecoveryTTL / time.Second)})
}

// plainRequest reads an unsigned GET: no body, no query unless lists.
func (h *Handler) plainRequest(w http.ResponseWriter, r *http.Request, lists bool) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if len(body) > 0 {
		return fmt.Errorf("%w request: a GET has no body", errMalformed)
	}
	if !lists && (r.URL.RawQuery != "" || r.URL.ForceQuery) {
		return fmt.Errorf("%w request: this route takes no query string", errMalformed)
	}
	return nil
}

// readBody reads at most MaxBody bytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, api.MaxBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, api.ErrTooLarge
	case err != nil:
		return nil, fmt.Errorf("%w request: reading the body: %v", errMalformed, err)
	}
	return body, nil
}

// endpoint is a signed route's logic: it returns the status and body of
// a success, or an error for statusTable.
type endpoint func(ctx context.Context, r *http.Request, req *api.Request) (int, any, error)

// signed reads and checks the parts every signed route shares (section 3
// and section 4 step 1) and runs e.
func (h *Handler) signed(e endpoint) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req, err := h.readSigned(w, r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		status, v, err := e(r.Context(), r, req)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.reply(w, status, v)
	}
}

func (h *Handler) readSigned(w http.ResponseWriter, r *http.Request) (*api.Request, error) {
	body, err := readBody(w, r)
	if err != nil {
		return nil, err
	}
	if r.Method == http.MethodPost {
		if err := checkMediaType(r.Header.Values("Content-Type")); err != nil {
			return nil, err
		}
	} else if len(body) > 0 {
		return nil, fmt.Errorf("%w request: a GET has no body", errMalformed)
	}
	if len(r.RequestURI) > api.MaxTarget {
		return nil, fmt.Errorf("%w request: a target of more than %d bytes", errMalformed, api.MaxTarget)
	}
	req := &api.Request{Method: r.Method, Target: r.RequestURI, Body: body}
	if req.LogSize, err = api.ParseLogSize(r.Header); err != nil {
		return nil, err
	}
	req.Auth, err = api.ParseAuthHeaders(r.Header)
	if err != nil {
		return nil, err
	}
	return req, nil
}

func checkMediaType(values []string) error {
	if len(values) != 1 {
		return api.ErrMediaType
	}
	mt, params, err := mime.ParseMediaType(values[0])
	if err != nil || mt != "application/json" {
		return api.ErrMediaType
	}
	for k, v := range params {
		if k != "charset" || (v != "utf-8" && v != "UTF-8") {
			return api.ErrMediaType
		}
	}
	return nil
}

// page reads the list query (section 3): after and limit, each at most
// once, canonical; no other parameter.
func page(r *http.Request) (uint64, int, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return 0, 0, fmt.Errorf("%w query string", errMalformed)
	}
	after, limit := uint64(0), api.DefaultPage
	for k, vs := range q {
		if len(vs) != 1 {
			return 0, 0, fmt.Errorf("%w query string: %q more than once", errMalformed, k)
		}
		n, err := strconv.ParseUint(vs[0], 10, 64)
		if err != nil || strconv.FormatUint(n, 10) != vs[0] {
			return 0, 0, fmt.Errorf("%w query string: %q is not a canonical number", errMalformed, k)
		}
		switch {
		case k == "after":
			after = n
		case k == "limit" && n >= 1 && n <= api.MaxPage:
			limit = int(n)
		default:
			return 0, 0, fmt.Errorf("%w query string: parameter %q", errMalformed, k)
		}
	}
	return after, limit, nil
}

func next(n int, limit int, lastSeq uint64) *string {
	if n < limit || n == 0 {
		return nil
	}
	s := strconv.FormatUint(lastSeq, 10)
	return &s
}

func noQuery(r *http.Request) error {
	if r.URL.RawQuery != "" || r.URL.ForceQuery {
		return fmt.Errorf("%w request: this route takes no query string", errMalformed)
	}
	return nil
}

// pathID reads {id}; a malformed one is not found, as an unknown one.
func pathID(r *http.Request) (api.RequestID, error) {
	id, err := api.ParseRequestID(r.PathValue("id"))
	if err != nil {
		return id, api.ErrNotFound
	}
	return id, nil
}
