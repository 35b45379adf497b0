package console

import (
	"encoding/hex"
	"errors"
	"net/http"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority/api"
)

// Why a sign-in link is refused, as the console_refused entry's reason.
const (
	refusedMalformed   = "malformed"
	refusedNotOperator = "not an operator"
	refusedSignature   = "bad signature"
	refusedExpired     = "expired"
	refusedReused      = "reused"
)

// signInDetail is the detail of console_sign_in and console_sign_out
// entries: the link's id and the session's end.
type signInDetail struct {
	Token   string `json:"token,omitempty"`
	Expires string `json:"expires,omitempty"`
}

// refusedDetail is the detail of a console_refused entry.
type refusedDetail struct {
	Reason string `json:"reason"`
	Token  string `json:"token,omitempty"`
	// Claimed is the signer a link named but whose signature was not
	// checked (not an operator, or a bad signature).
	Claimed string `json:"claimed_signer,omitempty"`
}

// login opens a sign-in link: with a valid token it starts a session,
// sets its cookie and redirects to the overview, so that no token stays
// in the address bar or the history; without a token it explains how to
// sign in.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	text := r.URL.Query().Get("t")
	if text == "" {
		c.render(w, r, http.StatusOK, "signin", c.current(r), page{Title: "Sign in"})
		return
	}
	tok, op, reason := c.check(r, text)
	if reason != "" {
		c.refuse(w, r, tok, op, reason)
		return
	}
	now := c.svc.Now()
	expires := now.Add(c.ttl)
	id := c.sessions.create(op, now, expires)
	d := signInDetail{Token: hex.EncodeToString(tok.Auth.Nonce[:]), Expires: api.FormatTime(expires)}
	if _, err := c.svc.ConsoleEvent(r.Context(), api.AuditConsoleSignIn, op, d); err != nil {
		c.sessions.end(id)
		c.fail(w, r, err)
		return
	}
	c.setCookie(w, id, expires)
	http.Redirect(w, r, "/console/", http.StatusSeeOther)
}

// check verifies a sign-in token: well formed, signed by an operator of
// the list, within its validity, never used before. It returns the token
// as far as it parsed, its signer once the signature verified, and the
// reason for a refusal ("" for none).
func (c *Console) check(r *http.Request, text string) (*api.ConsoleToken, keyblob.Fingerprint, string) {
	tok, err := api.ParseConsoleToken(text)
	if err != nil {
		return nil, keyblob.Fingerprint{}, refusedMalformed
	}
	signer := tok.Auth.Signer
	key := c.operators[signer]
	switch {
	case key == nil:
		return tok, keyblob.Fingerprint{}, refusedNotOperator
	case api.VerifyConsoleToken(c.svc.Fingerprint(), tok, key) != nil:
		return tok, keyblob.Fingerprint{}, refusedSignature
	case api.CheckConsoleTime(tok, c.svc.Now()) != nil:
		return tok, signer, refusedExpired
	}
	switch err := c.svc.UseConsoleToken(r.Context(), tok); {
	case errors.Is(err, api.ErrReplay):
		return tok, signer, refusedReused
	case err != nil:
		return tok, signer, err.Error()
	}
	return tok, signer, ""
}

// refuse audits a refused sign-in and answers 403 with the reason.
func (c *Console) refuse(w http.ResponseWriter, r *http.Request, tok *api.ConsoleToken, actor keyblob.Fingerprint, reason string) {
	d := refusedDetail{Reason: reason}
	if tok != nil {
		d.Token = hex.EncodeToString(tok.Auth.Nonce[:])
		if actor.IsZero() {
			d.Claimed = tok.Auth.Signer.String()
		}
	}
	if _, err := c.svc.ConsoleEvent(r.Context(), api.AuditConsoleRefused, actor, d); err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusForbidden, "signin", nil, page{Title: "Sign-in refused",
		Message: "This sign-in link was refused (" + reason + "). Ask 'keyblob authority console-login' for a new one: each link works once, for a few minutes."})
}

// logout ends the session (a POST with its anti-CSRF token), audits it
// and clears the cookie.
func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	if ck, err := r.Cookie(cookieName); err == nil {
		c.sessions.end(ck.Value)
	}
	c.setCookie(w, "", s.expires)
	if _, err := c.svc.ConsoleEvent(r.Context(), api.AuditConsoleSignOut, s.operator, signInDetail{}); err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "signin", nil, page{Title: "Signed out", Message: "You are signed out."})
}
