package console

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// browser starts headless Chromium for a test, or skips it when there is
// none and KEYBLOB_REQUIRE_BROWSER is unset. It returns the browser's
// context and what it reports: console errors, CSP violations, and the
// CSP header of every document.
func browser(t *testing.T) (context.Context, *reports) {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("KEYBLOB_REQUIRE_BROWSER") != "" {
			t.Fatalf("KEYBLOB_REQUIRE_BROWSER is set but there is no chromium: %v", err)
		}
		t.Skip("no chromium on PATH (apt-get install chromium; set KEYBLOB_REQUIRE_BROWSER to make this a failure)")
	}
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(path), chromedp.Flag("headless", "new"),
		chromedp.NoSandbox, chromedp.Flag("disable-gpu", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-extensions", true), chromedp.WindowSize(1280, 900)}
	actx, cancel := chromedp.NewExecAllocator(t.Context(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	r := &reports{csp: map[string]string{}}
	if err := chromedp.Listen(ctx, r.listen); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	// The page's own report of a violation, whatever the browser logs.
	if _, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{
		Source: `document.addEventListener("securitypolicyviolation",
			function (e) { console.error("CSP violation: " + e.violatedDirective + " " + e.blockedURI); });`}); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx, r
}

// reports collects what the browser said.
type reports struct {
	mu       sync.Mutex
	problems []string
	csp      map[string]string // document URL: its CSP header
}

// listen runs on the browser's reading goroutine: it only records.
func (r *reports) listen(ev any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch ev := ev.(type) {
	case *log.EventEntryAdded:
		// A network entry is a status the test asks for (401, 403) or
		// the favicon's 404; a violation comes with another source.
		network := ev.Entry.Source == log.EntrySourceNetwork
		if (ev.Entry.Level == log.EntryLevelError && !network) || strings.Contains(ev.Entry.Text, "Content Security Policy") {
			r.problems = append(r.problems, "log: "+ev.Entry.Text)
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError {
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			r.problems = append(r.problems, "console: "+strings.Join(args, " "))
		}
	case *runtime.EventExceptionThrown:
		r.problems = append(r.problems, "exception: "+ev.ExceptionDetails.Text)
	case *network.EventResponseReceived:
		if ev.Type == network.ResourceTypeDocument {
			v, _ := ev.Response.Headers["Content-Security-Policy"].(string)
			if v == "" {
				v, _ = ev.Response.Headers["content-security-policy"].(string)
			}
			r.csp[ev.Response.URL] = v
		}
	}
}

func (r *reports) check(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.problems {
		t.Errorf("the browser reported: %s", p)
	}
	if len(r.csp) < 8 {
		t.Errorf("%d documents seen", len(r.csp))
	}
	for u, v := range r.csp {
		if v != csp {
			t.Errorf("%s: Content-Security-Policy %q", u, v)
		}
	}
}

// text returns the text of the first element sel matches.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func do(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// TestBrowser drives Chromium through the console: no data signed out;
// sign in with a link; a pending request with its countdown (kept
// running by the script) and approvals; its audit entries, verified;
// sign out; an expired and a reused link refused; no CSP violation
// anywhere. With KEYBLOB_SCREENSHOTS=1 it writes each page at 1280 and
// 390 px wide to docs/console/.
func TestBrowser(t *testing.T) {
	ctx, rep := browser(t)
	f := newFixture(t, nil, false)
	srv := httptest.NewServer(f.handler)
	t.Cleanup(srv.Close)
	linkURL := func(age, validity time.Duration) string { return srv.URL + f.link(f.ops[0], age, validity) }
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	do(t, ctx, "signed out", chromedp.Navigate(srv.URL+"/console/"))
	if main := text(t, ctx, "main"); !strings.Contains(main, "How to sign in") || strings.Contains(main, f.pending.ID.String()) {
		t.Fatalf("signed out, the page shows: %q", main)
	}
	shoot(t, ctx, "signin")

	do(t, ctx, "sign in", chromedp.Navigate(linkURL(0, 5*time.Minute)), chromedp.WaitVisible(css("#log-size")))
	if loc, main := location(t, ctx), text(t, ctx, "main"); loc != srv.URL+"/console/" || !strings.Contains(main, "Transparency log") {
		t.Fatalf("after sign-in at %s: %q", loc, main)
	}
	shoot(t, ctx, "overview")

	do(t, ctx, "recoveries", chromedp.Navigate(srv.URL+"/console/recoveries"), chromedp.WaitVisible(css(".countdown")))
	countdown, approvals, main := text(t, ctx, ".countdown"), text(t, ctx, ".approvals"), text(t, ctx, "main")
	op := f.ops[0].Recipient().SigningFingerprint().String()[:16]
	if !strings.HasPrefix(countdown, "in 19h 59m") && !strings.HasPrefix(countdown, "in 20h") {
		t.Errorf("countdown %q", countdown)
	}
	if !strings.Contains(approvals, "1 of 2") || !strings.Contains(approvals, op) {
		t.Errorf("approvals %q", approvals)
	}
	if !strings.Contains(main, "keyblob authority approve "+f.pending.ID.String()+" -i OPERATOR --authority "+srv.URL) {
		t.Errorf("no approve command in %q", main)
	}
	shoot(t, ctx, "recoveries")

	do(t, ctx, "its audit entries", chromedp.Click(css("a.entries")), chromedp.WaitVisible(css("table.audit")))
	if loc, tab := location(t, ctx), text(t, ctx, "table.audit"); !strings.Contains(loc, "ref="+f.pending.ID.String()) ||
		!strings.Contains(tab, "approval") || !strings.Contains(tab, "recovery_request") || strings.Contains(tab, "deposit") ||
		strings.Count(tab, "verified") != 2 {
		t.Errorf("the request's audit entries at %s: %q", loc, tab)
	}
	do(t, ctx, "audit", chromedp.Navigate(srv.URL+"/console/audit"), chromedp.WaitVisible(css("table.audit")))
	shoot(t, ctx, "audit")
	do(t, ctx, "owners", chromedp.Navigate(srv.URL+"/console/owners"), chromedp.SendKeys(css("#fp"), f.owner.ID.String()),
		chromedp.Submit(css("#fp")), chromedp.WaitVisible(css("#owner-h")))
	if main := text(t, ctx, "main"); !strings.Contains(main, f.owner.ID.String()) || !strings.Contains(main, "throttled until") {
		t.Errorf("owner page: %q", main)
	}
	shoot(t, ctx, "owners")

	do(t, ctx, "sign out", chromedp.Click(css(".signout button")), chromedp.WaitVisible(css(".message")))
	if main := text(t, ctx, "main"); !strings.Contains(main, "You are signed out") {
		t.Errorf("after sign-out: %q", main)
	}
	do(t, ctx, "after sign-out", chromedp.Navigate(srv.URL+"/console/recoveries"))
	if main := text(t, ctx, "main"); strings.Contains(main, f.pending.ID.String()) || !strings.Contains(main, "How to sign in") {
		t.Errorf("signed out, recoveries shows %q", main)
	}

	used := linkURL(0, time.Minute)
	do(t, ctx, "use a link", chromedp.Navigate(used), chromedp.WaitVisible(css("#log-size")),
		chromedp.Click(css(".signout button")), chromedp.WaitVisible(css(".message")))
	for _, c := range []struct{ what, link, reason string }{
		{"expired", linkURL(10*time.Minute, 5*time.Minute), refusedExpired},
		{"reused", used, refusedReused},
	} {
		do(t, ctx, c.what, chromedp.Navigate(c.link))
		if main := text(t, ctx, "main"); !strings.Contains(main, "refused ("+c.reason+")") || strings.Contains(main, "Transparency log") {
			t.Errorf("%s link: %q", c.what, main)
		}
	}
	rep.check(t)
}

// shoot writes the page at both widths to docs/console/NAME-WIDTH.png
// when KEYBLOB_SCREENSHOTS=1.
func shoot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("KEYBLOB_SCREENSHOTS") != "1" {
		return
	}
	dir := filepath.Join("..", "..", "docs", "console")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, w := range []int64{1280, 390} {
		do(t, ctx, "viewport", chromedp.EmulateViewport(w, 900))
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%d.png", name, w)), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	do(t, ctx, "viewport", chromedp.EmulateViewport(1280, 900))
}
