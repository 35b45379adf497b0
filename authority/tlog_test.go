package authority_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority"
	"github.com/keyblob/keyblob/authority/api"
	"github.com/keyblob/keyblob/authority/client"
)

// get fetches a public log route.
func get(t *testing.T, s *server, path string) (int, []byte) {
	t.Helper()
	resp, err := s.srv.Client().Get(s.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// deposits enrols owner and deposits n keys.
func deposits(t *testing.T, s *server, owner *keyblob.Identity, n int) {
	t.Helper()
	if _, _, err := s.client.Enroll(t.Context(), owner); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, _, _, err := s.client.Deposit(t.Context(), owner, keyblob.NewSessionKey(), fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
}

// tiles reads tiles over HTTP, as a monitor without an account does.
type tiles struct {
	t *testing.T
	s *server
}

func (r tiles) Height() int { return api.TileHeight }

func (r tiles) ReadTiles(ts []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(ts))
	for i, tile := range ts {
		status, b := get(r.t, r.s, "/v1/log/"+tile.Path())
		if status != http.StatusOK {
			return nil, fmt.Errorf("%s: %d", tile.Path(), status)
		}
		out[i] = b
	}
	return out, nil
}

func (tiles) SaveTiles([]tlog.Tile, [][]byte) {}

// TestMonitor checks the log as a monitor does, with standard tools
// only (golang.org/x/mod/sumdb): the checkpoint verifies as a signed
// note, and the tiles give its root and every owner entry's leaf.
func TestMonitor(t *testing.T) {
	s := newServer(t, sqliteStore(t), 0)
	owner := identity(t, "monitored")
	deposits(t, s, owner, 300) // more than a tile
	status, msg := get(t, s, "/v1/log/checkpoint")
	if status != http.StatusOK {
		t.Fatalf("checkpoint: %d", status)
	}
	v, err := api.NoteVerifier(s.aut.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		t.Fatalf("the checkpoint is not a signed note of the authority's key: %v", err)
	}
	c, err := api.ParseCheckpoint(api.Origin(s.aut.Recipient().Fingerprint()), n.Text)
	if err != nil || c.Size != 301 {
		t.Fatalf("checkpoint %+v, %v", c, err)
	}
	tree := tlog.Tree{N: int64(c.Size), Hash: c.Root}
	r := tlog.TileHashReader(tree, tiles{t, s})
	if root, err := tlog.TreeHash(tree.N, r); err != nil || root != c.Root {
		t.Fatalf("the tiles give root %v (%v), the checkpoint %v", root, err, c.Root)
	}
	view, err := s.client.Audit(t.Context(), owner, 0)
	if err != nil || len(view.Entries) != 301 || view.Through != 301 {
		t.Fatalf("audit: %d entries through %d, %v", len(view.Entries), view.Through, err)
	}
	for _, e := range view.Entries {
		p, err := tlog.ProveRecord(tree.N, int64(e.Seq-1), r)
		if err == nil {
			err = tlog.CheckRecord(p, tree.N, tree.Hash, int64(e.Seq-1), api.LeafHash(&e))
		}
		if err != nil {
			t.Fatalf("entry %d through the tiles: %v", e.Seq, err)
		}
	}
	for _, bad := range []string{"/v1/log/tile/8/0/002", "/v1/log/tile/8/0/001.p/46", "/v1/log/tile/4/0/000",
		"/v1/log/tile/8/data/000", "/v1/log/tile/8/0/0", "/v1/log/tile/8/2/000.p/1"} {
		if status, _ := get(t, s, bad); status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", bad, status)
		}
	}
	if status, _ := get(t, s, "/v1/log/tile/8/0/001.p/45"); status != http.StatusOK {
		t.Errorf("the partial tile of the last 45 leaves: %d", status)
	}
}

// TestClientRefusesRewrittenLog shows one client a log, then another
// authority's history under the same key, as a database thief who
// rewrote the log would: the client refuses it, naming both sizes, and
// keeps what it saw; a log that only grew passes.
func TestClientRefusesRewrittenLog(t *testing.T) {
	s := newServer(t, sqliteStore(t), 0)
	owner := identity(t, "first")
	deposits(t, s, owner, 4)
	// A second service with the same identity over another store: a
	// rolled-back or forked history signed by the same key.
	fork := newServerAs(t, s, sqliteStore(t))
	deposits(t, fork, identity(t, "second"), 2)

	mem := &memoryLog{}
	c := clientOf(t, s, mem)
	if _, _, err := c.CheckLog(t.Context()); err != nil {
		t.Fatal(err)
	}
	deposits(t, s, identity(t, "third"), 1)
	if _, _, err := c.CheckLog(t.Context()); err != nil {
		t.Fatalf("a log that grew: %v", err)
	}
	seen := string(mem.note)
	c2 := clientOf(t, fork, mem)
	_, err := c2.Deposits(t.Context(), owner)
	var ie *api.InconsistentError
	if !errors.As(err, &ie) || ie.Seen.Size != 7 || ie.Now.Size != 3 {
		t.Fatalf("the forked log: %v, want an InconsistentError of 7 and 3 entries", err)
	}
	if !strings.Contains(err.Error(), "not consistent with the log of 7 entries") {
		t.Errorf("the error does not name the log seen: %v", err)
	}
	if string(mem.note) != seen {
		t.Error("the client forgot the checkpoint it saw")
	}
}

// memoryLog is a client.LogMemory two clients share.
type memoryLog struct {
	note []byte
	seen time.Time
}

func (m *memoryLog) UpdateCheckpoint(f func([]byte, time.Time) ([]byte, time.Time, error)) error {
	n, s, err := f(m.note, m.seen)
	if err == nil {
		m.note, m.seen = n, s
	}
	return err
}

// clientOf is a client of s that keeps its log in mem.
func clientOf(t *testing.T, s *server, mem client.LogMemory) *client.Client {
	c, err := client.New(s.srv.URL, s.aut.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	c.HTTP, c.Now, c.Log = s.srv.Client(), s.client.Now, mem
	return c
}

// newServerAs serves another service with s's identity, over st.
func newServerAs(t *testing.T, s *server, st authority.Store) *server {
	t.Helper()
	f := &fixture{t: t, aut: s.aut, now: s.now}
	svc, err := authority.New(&authority.Config{Store: st, Identity: f.aut, Argon2: fastArgon2, Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return serve(t, f)
}

// rewriter is a man in the middle of a client's audit pages: it hands
// each answer of GET /v1/audit to edit before the client reads it.
type rewriter struct {
	next http.RoundTripper
	edit func(*api.AuditListV1, []byte) []byte
}

func (r *rewriter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err != nil || req.URL.Path != "/v1/audit" || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var page api.AuditListV1
	if err := json.Unmarshal(b, &page); err != nil {
		return nil, err
	}
	b = r.edit(&page, b)
	resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
	resp.Header.Del("Content-Length")
	return resp, nil
}

func reencode(t *testing.T, page *api.AuditListV1) []byte {
	b, err := json.Marshal(page)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAuditPageTampered shows an owner's client audit pages edited on
// the way: an entry dropped, the claim shortened, an older page replayed,
// another owner's page. Each is refused; the page as sent passes.
func TestAuditPageTampered(t *testing.T) {
	s := newServer(t, sqliteStore(t), 0)
	owner, other := identity(t, "first"), identity(t, "second")
	deposits(t, s, owner, 3)
	deposits(t, s, other, 1)
	var old, others []byte
	rw := &rewriter{next: s.srv.Client().Transport}
	s.client.HTTP = &http.Client{Transport: rw}
	record := func(into *[]byte) func(*api.AuditListV1, []byte) []byte {
		return func(_ *api.AuditListV1, b []byte) []byte { *into = b; return b }
	}
	rw.edit = record(&others)
	if _, err := s.client.Audit(t.Context(), other, 0); err != nil {
		t.Fatal(err)
	}
	rw.edit = record(&old)
	if v, err := s.client.Audit(t.Context(), owner, 0); err != nil || len(v.Entries) != 4 || v.Through != 6 {
		t.Fatalf("the page as sent: %+v, %v", v, err)
	}
	edits := map[string]func(*api.AuditListV1, []byte) []byte{
		"an entry dropped": func(p *api.AuditListV1, _ []byte) []byte {
			p.Entries, p.Inclusion = p.Entries[1:], p.Inclusion[1:]
			return reencode(t, p)
		},
		"the newest entry dropped, through shortened": func(p *api.AuditListV1, _ []byte) []byte {
			n := len(p.Entries) - 1
			p.Entries, p.Inclusion, p.Through = p.Entries[:n], p.Inclusion[:n], p.Entries[n-1].Seq
			return reencode(t, p)
		},
		"an older page replayed": func(*api.AuditListV1, []byte) []byte { return old },
		"another owner's page":   func(*api.AuditListV1, []byte) []byte { return others },
		"the signature of another": func(p *api.AuditListV1, _ []byte) []byte {
			var o api.AuditListV1
			json.Unmarshal(old, &o)
			p.Signature = o.Signature
			return reencode(t, p)
		},
	}
	for name, edit := range edits {
		rw.edit = edit
		if v, err := s.client.Audit(t.Context(), owner, 0); err == nil {
			t.Errorf("%s: accepted, %d entries", name, len(v.Entries))
		}
	}
}
