// Package console is the backup authority's operator console: HTML pages
// under /console/ (an overview, recovery requests, owners, the audit log)
// that read through an authority.Service, with sign-in by one-time links
// that an operator's identity signs (keyblob authority console-login) and
// server-side sessions. Pages are html/template with their templates, one
// style sheet and one small script embedded; every page works without
// the script, under a strict Content-Security-Policy.
package console

import (
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"sync"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority"
)

// DefaultSessionTTL is how long a session lasts from its sign-in.
const DefaultSessionTTL = 8 * time.Hour

// Verification is the outcome of the last `keyblob authority audit
// verify` run, as recorded for the console.
type Verification struct {
	Time    time.Time
	OK      bool
	Entries uint64
	Message string
}

// Options configure a Console. Service and Operators are required.
type Options struct {
	// Service is the authority the console reads.
	Service *authority.Service
	// Operators may sign in; each needs a signature key.
	Operators []*keyblob.Recipient
	// Secure marks the session cookie Secure: the console is served
	// over TLS.
	Secure bool
	// SessionTTL is how long a session lasts (0: DefaultSessionTTL).
	SessionTTL time.Duration
	// LastVerify, if set, returns the last audit verification, false
	// if none was recorded.
	LastVerify func() (Verification, bool)
}

// Console is the console's http.Handler. It is safe for concurrent use.
// Its sessions are kept in memory: a restart signs every operator out.
type Console struct {
	svc       *authority.Service
	operators map[keyblob.Fingerprint]*keyblob.Recipient
	secure    bool
	ttl       time.Duration
	verified  func() (Verification, bool)
	mux       *http.ServeMux
	pages     map[string]*template.Template
	sessions  *sessions
	health    healthCache
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// New returns the console of o.Service.
func New(o *Options) (*Console, error) {
	c := &Console{svc: o.Service, operators: map[keyblob.Fingerprint]*keyblob.Recipient{}, secure: o.Secure,
		ttl: o.SessionTTL, verified: o.LastVerify, mux: http.NewServeMux(), sessions: newSessions(maxSessions)}
	if c.ttl <= 0 {
		c.ttl = DefaultSessionTTL
	}
	for _, op := range o.Operators {
		if op.CanVerify() {
			c.operators[op.SigningFingerprint()] = op
		}
	}
	var err error
	if c.pages, err = parsePages(); err != nil {
		return nil, err
	}
	c.routes()
	return c, nil
}

func (c *Console) routes() {
	static, _ := fs.Sub(staticFS, "static")
	c.mux.Handle("GET /console/static/", http.StripPrefix("/console/static/", http.FileServerFS(static)))
	c.mux.HandleFunc("GET /console/login", c.login)
	c.mux.HandleFunc("POST /console/logout", c.signedIn(c.logout))
	c.mux.HandleFunc("GET /console/{$}", c.signedIn(c.overview))
	c.mux.HandleFunc("GET /console/recoveries", c.signedIn(c.recoveries))
	c.mux.HandleFunc("GET /console/owners", c.signedIn(c.owners))
	c.mux.HandleFunc("GET /console/audit", c.signedIn(c.audit))
}

// csp is the Content-Security-Policy of every response: nothing inline,
// the style sheet and the script from the console itself.
const csp = "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// ServeHTTP sets the security headers of every response and routes r.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if _, pattern := c.mux.Handler(r); pattern == "" {
		c.render(w, r, http.StatusNotFound, "message", nil, page{Title: "Not found", Message: "There is no such page in the console."})
		return
	}
	c.mux.ServeHTTP(w, r)
}

// healthCache keeps the store's health for a few seconds, so that
// reloading the overview does not write to the store every time.
type healthCache struct {
	mu  sync.Mutex
	at  time.Time
	err error
}
