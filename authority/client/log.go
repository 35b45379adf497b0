package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority/api"
)

// LogMemory keeps, for one authority, the newest checkpoint of its log
// that a client verified, and when it first saw it (spec/escrow-api.md
// section 6.7). The key store keeps it on disk (keystore.LogState).
type LogMemory interface {
	// UpdateCheckpoint calls f with the note kept (nil if none) and its
	// time; if f returns a nil error, what it returns is kept instead.
	// Concurrent calls, by any process sharing the memory, run one at a
	// time.
	UpdateCheckpoint(f func(note []byte, seen time.Time) ([]byte, time.Time, error)) error
}

// memory is the LogMemory of a client given none: the process's.
type memory struct {
	mu   sync.Mutex
	note []byte
	seen time.Time
}

func (m *memory) UpdateCheckpoint(f func([]byte, time.Time) ([]byte, time.Time, error)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	note, seen, err := f(m.note, m.seen)
	if err == nil {
		m.note, m.seen = note, seen
	}
	return err
}

// CheckLog fetches the authority's newest checkpoint and checks that its
// log extends the one the client saw before (Advance); it returns the
// checkpoint and its signed note. A Client runs it before its first
// exchange, and checks every checkpoint it is given after.
func (c *Client) CheckLog(ctx context.Context) (api.Checkpoint, []byte, error) {
	note, err := c.fetchCheckpoint(ctx)
	if err != nil {
		return api.Checkpoint{}, nil, err
	}
	cp, err := c.Advance(ctx, note)
	return cp, note, err
}

// Advance verifies note, a signed checkpoint of the authority's log, and
// checks with a consistency proof that the log it signs and the newest
// one the client saw before are one history: the newer extends the older.
// It keeps the newer in the client's LogMemory. A log that is not an
// extension of what the client saw is an *api.InconsistentError, never
// accepted.
func (c *Client) Advance(ctx context.Context, note []byte) (api.Checkpoint, error) {
	return c.advance(ctx, note, nil)
}

// advance is Advance with the consistency proof an answer carried, used
// when it proves what is needed; otherwise the proof is fetched.
func (c *Client) advance(ctx context.Context, note []byte, given *api.ConsistencyV1) (api.Checkpoint, error) {
	now, err := api.OpenCheckpoint(c.authority, note)
	if err != nil {
		return now, fmt.Errorf("the authority's checkpoint: %w", err)
	}
	err = c.memory().UpdateCheckpoint(func(seenNote []byte, seenTime time.Time) ([]byte, time.Time, error) {
		if seenNote == nil {
			c.seenSize.Store(now.Size)
			return note, c.now().UTC(), nil
		}
		seen, err := api.OpenCheckpoint(c.authority, seenNote)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("the checkpoint kept of the authority: %w", err)
		}
		if now.Size < seen.Size {
			// An older view (a stale replica): it must be a prefix.
			c.seenSize.Store(seen.Size)
			return seenNote, seenTime, c.consistent(ctx, now, seen, seenTime, seen, nil)
		}
		if err := c.consistent(ctx, seen, now, seenTime, seen, given); err != nil {
			return nil, time.Time{}, err
		}
		c.seenSize.Store(now.Size)
		if now.Size == seen.Size {
			return seenNote, seenTime, nil
		}
		return note, c.now().UTC(), nil
	})
	return now, err
}

// consistent checks that the tree newer extends the tree older; an error
// names the checkpoint seen (at seenTime) and the one shown.
func (c *Client) consistent(ctx context.Context, older, newer api.Checkpoint, seenTime time.Time, seen api.Checkpoint, given *api.ConsistencyV1) error {
	shown := newer
	if newer == seen {
		shown = older
	}
	bad := &api.InconsistentError{Seen: seen, SeenTime: seenTime, Now: shown}
	if older.Size == newer.Size || older.Size == 0 {
		return api.VerifyConsistency(older, seenTime, newer, nil)
	}
	if given != nil && given.Old == older.Size {
		// A proof that does not verify may have been spoilt on the way:
		// the authority is asked for its own.
		if proof, err := api.DecodeProof("consistency proof", given.Proof); err == nil &&
			api.VerifyConsistency(older, seenTime, newer, proof) == nil {
			return nil
		}
	}
	proof, err := c.proof(ctx, "/v1/log/consistency?old="+strconv.FormatUint(older.Size, 10)+"&size="+strconv.FormatUint(newer.Size, 10))
	var refused *APIError
	switch {
	case errors.As(err, &refused) && refused.Status == http.StatusNotFound:
		return bad // the authority cannot prove it: it has no such tree
	case err != nil:
		return err
	}
	if api.VerifyConsistency(older, seenTime, newer, proof) != nil {
		return bad
	}
	return nil
}

func (c *Client) memory() LogMemory {
	if c.Log != nil {
		return c.Log
	}
	c.once.Do(func() { c.mem = &memory{} })
	return c.mem
}

// fetchCheckpoint reads GET /v1/log/checkpoint.
func (c *Client) fetchCheckpoint(ctx context.Context) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base.Scheme+"://"+c.base.Host+c.base.Path+"/v1/log/checkpoint", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, api.MaxCheckpoint+1))
	switch {
	case err != nil:
		return nil, err
	case resp.StatusCode != http.StatusOK:
		if err := httpsOnly(resp, b, req); err != nil {
			return nil, err
		}
		return nil, &APIError{Status: resp.StatusCode, Code: "internal", Message: "no checkpoint"}
	case len(b) > api.MaxCheckpoint:
		return nil, fmt.Errorf("%w checkpoint: more than %d bytes", keyblob.ErrMalformed, api.MaxCheckpoint)
	}
	return b, nil
}

// proof reads a consistency or inclusion proof.
func (c *Client) proof(ctx context.Context, target string) ([]api.Hash, error) {
	var out api.ProofV1
	if _, err := c.do(ctx, http.MethodGet, target, nil, false, nil, &out); err != nil {
		return nil, err
	}
	return api.DecodeProof("proof", out.Proof)
}

// checkOnce runs CheckLog before the client's first exchange, so that no
// answer of an authority whose log is not consistent with what the
// client saw is believed.
func (c *Client) checkOnce(ctx context.Context) error {
	c.checkMu.Lock()
	defer c.checkMu.Unlock()
	if c.checked {
		return nil
	}
	if _, _, err := c.CheckLog(ctx); err != nil {
		return err
	}
	c.checked = true
	return nil
}
