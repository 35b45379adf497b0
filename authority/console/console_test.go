package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyblob/keyblob/authority/api"
)

var pages = []string{"/console/", "/console/recoveries", "/console/owners", "/console/audit"}

// TestSignedOut: every page without a cookie, or with an unknown one,
// is the sign-in explanation, with none of the records.
func TestSignedOut(t *testing.T) {
	f := newFixture(t, nil, false)
	for _, cookie := range []string{"", "unknown", strings.Repeat("A", 43)} {
		for _, p := range append(pages, "/console/owners?fp="+f.owner.ID.String(), "/console/audit?kind=deposit") {
			w := f.do("GET", p, cookie, nil)
			body := w.Body.String()
			if w.Code != http.StatusUnauthorized || !strings.Contains(body, "How to sign in") {
				t.Errorf("%s (cookie %q): %d", p, cookie, w.Code)
			}
			for _, secret := range []string{f.pending.ID.String(), f.owner.ID.String()[:16], "Sign out", "log-size"} {
				if strings.Contains(body, secret) {
					t.Errorf("%s signed out shows %q", p, secret)
				}
			}
		}
	}
}

// TestSignIn: a link opens a session (the cookie's attributes), every
// page then shows its data, sign-out ends it; each step is audited.
func TestSignIn(t *testing.T) {
	for _, secure := range []bool{false, true} {
		f := newFixture(t, nil, secure)
		w := f.do("GET", f.link(f.ops[0], 0, 5*time.Minute), "", nil)
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/" {
			t.Fatalf("sign-in: %d %q", w.Code, w.Header().Get("Location"))
		}
		set := w.Header().Get("Set-Cookie")
		for _, attr := range []string{"Path=/console/", "HttpOnly", "SameSite=Strict", "Max-Age=28800"} {
			if !strings.Contains(set, attr) {
				t.Errorf("cookie %q lacks %s", set, attr)
			}
		}
		if strings.Contains(set, "Secure") != secure {
			t.Errorf("cookie %q: Secure should be %v", set, secure)
		}
		cookie := w.Result().Cookies()[0].Value
		if got := f.kinds(); got[len(got)-1] != api.AuditConsoleSignIn {
			t.Errorf("last entry %s, want console_sign_in", got[len(got)-1])
		}
		for _, p := range pages {
			if w := f.do("GET", p, cookie, nil); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Sign out") {
				t.Errorf("%s signed in: %d", p, w.Code)
			}
		}
		w = f.do("GET", "/console/", cookie, nil)
		csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(w.Body.String())
		if csrf == nil {
			t.Fatal("no anti-CSRF token in the sign-out form")
		}
		if w := f.do("POST", "/console/logout", cookie, url.Values{"csrf": {csrf[1]}}); w.Code != http.StatusOK {
			t.Fatalf("sign-out: %d", w.Code)
		}
		if got := f.kinds(); got[len(got)-1] != api.AuditConsoleSignOut {
			t.Errorf("last entry %s, want console_sign_out", got[len(got)-1])
		}
		if w := f.do("GET", "/console/", cookie, nil); w.Code != http.StatusUnauthorized {
			t.Errorf("after sign-out: %d", w.Code)
		}
	}
}

// TestSessionExpires: a session ends at its TTL.
func TestSessionExpires(t *testing.T) {
	f := newFixture(t, nil, false)
	cookie := f.signIn()
	f.advance(DefaultSessionTTL - time.Second)
	if w := f.do("GET", "/console/", cookie, nil); w.Code != http.StatusOK {
		t.Fatalf("before the end: %d", w.Code)
	}
	f.advance(time.Second)
	if w := f.do("GET", "/console/", cookie, nil); w.Code != http.StatusUnauthorized {
		t.Fatalf("at the end: %d", w.Code)
	}
}

// TestRefusedLinks: malformed, not an operator's, a forged signer,
// expired and reused links set no cookie, and each is audited with its
// reason.
func TestRefusedLinks(t *testing.T) {
	f := newFixture(t, nil, false)
	reused := f.link(f.ops[1], 0, time.Minute)
	if w := f.do("GET", reused, "", nil); w.Code != http.StatusSeeOther {
		t.Fatalf("first use: %d", w.Code)
	}
	forged := forgeSigner(t, f.link(f.outsider, 0, time.Minute), f.ops[0].Recipient().SigningFingerprint())
	tests := []struct {
		name, link, reason string
	}{
		{"malformed", api.ConsoleLoginPath + "?t=AAAA", refusedMalformed},
		{"not an operator", f.link(f.outsider, 0, time.Minute), refusedNotOperator},
		{"wrong signer", forged, refusedSignature},
		{"expired", f.link(f.ops[0], 6*time.Minute, 5*time.Minute), refusedExpired},
		{"issued in the future", f.link(f.ops[0], -api.MaxSkew-time.Minute, 5*time.Minute), refusedExpired},
		{"reused", reused, refusedReused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.do("GET", tt.link, "", nil)
			if w.Code != http.StatusForbidden || w.Header().Get("Set-Cookie") != "" {
				t.Fatalf("%d, cookie %q", w.Code, w.Header().Get("Set-Cookie"))
			}
			if !strings.Contains(w.Body.String(), "refused ("+tt.reason+")") {
				t.Errorf("page does not give the reason %q", tt.reason)
			}
			es, err := f.store.Audit(t.Context(), f.svc.Fingerprint(), 0, api.MaxPage)
			if err != nil || len(es) == 0 {
				t.Fatal(err)
			}
			last := es[len(es)-1]
			var d refusedDetail
			if last.Kind != api.AuditConsoleRefused || json.Unmarshal([]byte(last.Detail), &d) != nil || d.Reason != tt.reason {
				t.Errorf("last entry %s %s", last.Kind, last.Detail)
			}
		})
	}
}

// forgeSigner replaces the signer of a link's token, keeping its
// signature.
func forgeSigner(t *testing.T, link string, signer [32]byte) string {
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := api.ParseConsoleToken(u.Query().Get("t"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := decodeToken(u.Query().Get("t"))
	copy(raw, signer[:])
	_ = tok
	return api.ConsoleLoginPath + "?t=" + encodeToken(raw)
}

// TestCSRF: a sign-out without the session's token, or with another's,
// is refused and the session lives on.
func TestCSRF(t *testing.T) {
	f := newFixture(t, nil, false)
	cookie, other := f.signIn(), f.signIn()
	w := f.do("GET", "/console/", other, nil)
	otherToken := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(w.Body.String())[1]
	for _, form := range []url.Values{{}, {"csrf": {""}}, {"csrf": {"x"}}, {"csrf": {otherToken}}} {
		if w := f.do("POST", "/console/logout", cookie, form); w.Code != http.StatusForbidden {
			t.Errorf("sign-out with %v: %d", form, w.Code)
		}
	}
	if w := f.do("GET", "/console/", cookie, nil); w.Code != http.StatusOK {
		t.Errorf("session after refused sign-outs: %d", w.Code)
	}
	if w := f.do("GET", "/console/logout", cookie, nil); w.Code == http.StatusOK {
		t.Error("sign-out by GET")
	}
}

// TestHeaders: every response of the console, signed in or not, found
// or not, carries the security headers.
func TestHeaders(t *testing.T) {
	f := newFixture(t, nil, false)
	cookie := f.signIn()
	want := map[string]string{
		"Content-Security-Policy": csp,
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
		"Cache-Control":           "no-store",
		"X-Content-Type-Options":  "nosniff",
	}
	for _, c := range []struct{ target, cookie string }{
		{"/console/", ""}, {"/console/", cookie}, {"/console/audit", cookie}, {"/console/nothing", cookie},
		{"/console/static/console.css", ""}, {"/console/static/console.js", ""}, {api.ConsoleLoginPath, ""},
		{api.ConsoleLoginPath + "?t=x", ""},
	} {
		w := f.do("GET", c.target, c.cookie, nil)
		for k, v := range want {
			if got := w.Header().Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", c.target, k, got, v)
			}
		}
	}
	for _, s := range []string{"default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, s) {
			t.Errorf("CSP lacks %s", s)
		}
	}
}

// TestPages: what each page shows of the fixture's records, and never a
// verifier.
func TestPages(t *testing.T) {
	f := newFixture(t, nil, false)
	cookie := f.signIn()
	op := f.ops[0].Recipient().SigningFingerprint().String()[:16]
	tests := []struct {
		target string
		want   []string
	}{
		{"/console/", []string{"Entries</dt><dd id=\"log-size\">6", "Deposits: 2", "Recovery requests: 1", "Healthy", "Verified: the chain and tree verify", "<svg", f.owner.ID.String()[:16]}},
		{"/console/recoveries", []string{f.pending.ID.String(), "1 of 2", op, "class=\"countdown\"", "in 20h 0m",
			"keyblob authority approve " + f.pending.ID.String() + " -i OPERATOR --authority http://example.com",
			"&amp;ref=" + f.pending.ID.String() + "\"", "owner=" + url.QueryEscape(f.owner.ID.String())}},
		{"/console/owners?fp=" + url.QueryEscape(f.owner.ID.String()), []string{"<dt>Deposits</dt><dd>2</dd>", "<dt>Failed code checks</dt><dd>6", "throttled until", "approval at"}},
		{"/console/owners?fp=" + url.QueryEscape(fingerprint().String()), []string{"No owner is, or was, bound to that key."}},
		{"/console/audit", []string{"console_sign_in", "recovery_request", ">verified<"}},
		{"/console/audit?kind=deposit&owner=" + url.QueryEscape(f.owner.ID.String()), []string{"<td>deposit</td>"}},
		{"/console/audit?owner=" + url.QueryEscape(f.owner.ID.String()) + "&ref=" + f.pending.ID.String(), []string{"<td>approval</td>", "<td>recovery_request</td>"}},
	}
	for _, tt := range tests {
		w := f.do("GET", tt.target, cookie, nil)
		body := w.Body.String()
		if w.Code != http.StatusOK {
			t.Errorf("%s: %d", tt.target, w.Code)
		}
		for _, s := range tt.want {
			if !strings.Contains(body, s) {
				t.Errorf("%s lacks %q", tt.target, s)
			}
		}
		if strings.Contains(body, "VERIFIER") || strings.Contains(body, "<script>") || strings.Contains(body, "style=") {
			t.Errorf("%s shows a verifier, an inline script or an inline style", tt.target)
		}
	}
	if body := f.do("GET", "/console/audit?kind=deposit", cookie, nil).Body.String(); strings.Contains(body, "<td>enroll</td>") || !strings.Contains(body, "<td>deposit</td>") {
		t.Error("kind filter shows other kinds")
	}
	if n := strings.Count(f.do("GET", "/console/audit", cookie, nil).Body.String(), ">verified<"); n != 6 {
		t.Errorf("%d entries verified, want 6 (5 records and the sign-in)", n)
	}
	for _, bad := range []string{"/console/audit?kind=nope", "/console/audit?owner=zz", "/console/audit?before=-1",
		"/console/audit?ref=12", "/console/owners?fp=nothex", "/console/recoveries?before=x"} {
		if w := f.do("GET", bad, cookie, nil); w.Code != http.StatusBadRequest {
			t.Errorf("%s: %d", bad, w.Code)
		}
	}
}
