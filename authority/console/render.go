package console

import (
	"bytes"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority/api"
)

// page is what every template gets: the layout's parts and the page's
// own Data.
type page struct {
	Title    string
	Message  string
	Nav      string // the active section
	Operator string // the signed-in operator's fingerprint, "" if none
	CSRF     string // the session's anti-CSRF token
	Data     any
}

// pageNames are the templates, each rendered in layout.html.
var pageNames = []string{"signin", "message", "overview", "recoveries", "owners", "audit"}

var funcs = template.FuncMap{
	"fp":     func(f keyblob.Fingerprint) string { return f.String() },
	"short":  shortFP,
	"time":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"iso":    func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"ago":    ago,
	"span":   span,
	"q":      func(f keyblob.Fingerprint) string { return url.QueryEscape(f.String()) },
	"hex":    func(b [16]byte) string { return fmt.Sprintf("%x", b[:]) },
	"zero16": func(b [16]byte) bool { return b == [16]byte{} },
}

// shortFP is the first 16 characters of a fingerprint, enough to tell
// keys apart on a page; the title attribute carries the whole.
func shortFP(f keyblob.Fingerprint) string {
	s := f.String()
	if len(s) > 16 {
		return s[:16] + "…"
	}
	return s
}

// ago says how long ago (or, negative, in how long) d is, to the minute.
func ago(d time.Duration) string {
	if d < 0 {
		return "in " + span(-d)
	}
	return span(d) + " ago"
}

func span(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm %ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd %dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}

func parsePages() (map[string]*template.Template, error) {
	pages := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		pages[name] = t
	}
	return pages, nil
}

// render writes the page name with status, for session s (nil: signed
// out, and the page shows no data).
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, s *session, p page) {
	if s != nil {
		p.Operator, p.CSRF = s.operator.String(), s.csrf
	}
	var b bytes.Buffer
	if err := c.pages[name].Execute(&b, p); err != nil {
		slog.Error("console template", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// fail answers a page that the store could not serve.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, err error) {
	slog.Warn("console", "path", r.URL.Path, "err", err)
	c.render(w, r, http.StatusServiceUnavailable, "message", sessionOf(r), page{Title: "Unavailable",
		Message: "The store did not answer: " + strings.SplitN(err.Error(), ":", 2)[0] + ". Try again."})
}

// badRequest answers a page asked for with a malformed parameter.
func (c *Console) badRequest(w http.ResponseWriter, r *http.Request, what string) {
	c.render(w, r, http.StatusBadRequest, "message", sessionOf(r), page{Title: "Bad request", Message: what})
}

// formatDetail shows an entry's detail as text, bounded.
func formatDetail(e *api.AuditEntry) string {
	const max = 300
	if len(e.Detail) > max {
		return e.Detail[:max] + "…"
	}
	return e.Detail
}
