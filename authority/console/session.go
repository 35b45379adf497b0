package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"sync"
	"time"

	"github.com/keyblob/keyblob"
)

// Sessions: the cookie holds 32 random bytes; the server keeps only
// their SHA-256, so that its memory holds no cookie to replay.
const (
	cookieName  = "keyblob_console"
	cookiePath  = "/console/"
	maxSessions = 4096
)

// session is a signed-in operator's.
type session struct {
	operator keyblob.Fingerprint
	expires  time.Time
	csrf     string // the anti-CSRF token of its forms
}

// sessions are the live sessions by the hash of their cookie.
type sessions struct {
	mu  sync.Mutex
	m   map[[32]byte]*session
	max int
}

func newSessions(max int) *sessions { return &sessions{m: map[[32]byte]*session{}, max: max} }

// randomText returns 32 random bytes in base64url.
func randomText() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session of operator until expires and returns its
// cookie value. When full it forgets the expired sessions, then the one
// that expires first.
func (s *sessions) create(operator keyblob.Fingerprint, now, expires time.Time) string {
	id := randomText()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= s.max {
		s.evict(now)
	}
	s.m[sha256.Sum256([]byte(id))] = &session{operator: operator, expires: expires, csrf: randomText()}
	return id
}

func (s *sessions) evict(now time.Time) {
	var first [32]byte
	var firstAt time.Time
	for k, v := range s.m {
		if !now.Before(v.expires) {
			delete(s.m, k)
		} else if firstAt.IsZero() || v.expires.Before(firstAt) {
			first, firstAt = k, v.expires
		}
	}
	if len(s.m) >= s.max {
		delete(s.m, first)
	}
}

// get returns the live session of cookie value id, or nil.
func (s *sessions) get(id string, now time.Time) *session {
	if len(id) != 43 {
		return nil
	}
	k := sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.m[k]
	if v != nil && !now.Before(v.expires) {
		delete(s.m, k)
		return nil
	}
	return v
}

// end forgets the session of cookie value id.
func (s *sessions) end(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, sha256.Sum256([]byte(id)))
}

type sessionKey struct{}

// sessionOf returns the session signedIn found for r.
func sessionOf(r *http.Request) *session {
	s, _ := r.Context().Value(sessionKey{}).(*session)
	return s
}

// current returns r's live session, or nil.
func (c *Console) current(r *http.Request) *session {
	ck, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	return c.sessions.get(ck.Value, c.svc.Now())
}

// signedIn runs next only for a request with a live session (and, for a
// POST, its anti-CSRF token); others get the sign-in explanation, with
// no data.
func (c *Console) signedIn(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := c.current(r)
		if s == nil {
			c.render(w, r, http.StatusUnauthorized, "signin", nil, page{Title: "Sign in"})
			return
		}
		if r.Method == http.MethodPost && !hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(s.csrf)) {
			c.render(w, r, http.StatusForbidden, "message", s, page{Title: "Refused",
				Message: "This form was not sent by a page of this console (its anti-CSRF token is missing or wrong)."})
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, s)))
	}
}

// setCookie sets the session cookie, valid until expires, or clears it
// for value "".
func (c *Console) setCookie(w http.ResponseWriter, value string, expires time.Time) {
	ck := &http.Cookie{Name: cookieName, Value: value, Path: cookiePath, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: c.secure}
	if value == "" {
		ck.MaxAge = -1
	} else {
		ck.Expires = expires
		ck.MaxAge = int(c.ttl / time.Second)
	}
	http.SetCookie(w, ck)
}
