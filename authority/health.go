package authority

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/keyblob/keyblob/authority/api"
)

// Health checks: each may take healthTimeout; its outcome is kept for
// healthTTL.
const (
	healthTimeout = 2 * time.Second
	healthTTL     = 5 * time.Second
)

// The reasons a store cannot write, as a WriteError's Reason, the body of
// an unhealthy /healthz names them (spec/escrow-api.md section 7.13).
const (
	WriteDiskFull = "disk full"          // the database's disk or quota is full
	WriteReadOnly = "read-only database" // the file, the mount or the server refuses writes
	WriteIO       = "I/O error"          // the disk failed a read or a write
)

// WriteError is a store's failure to write that comes from the
// database's state, not from the request: every write fails the same way
// until the operator acts. A backend returns it, wrapping the database's
// error, so that the service answers api.ErrStoreUnavailable rather than
// "busy" and /healthz names Reason (one of the Write constants).
type WriteError struct {
	Reason string
	Err    error
}

func (e *WriteError) Error() string {
	return fmt.Sprintf("the database cannot write (%s): %v", e.Reason, e.Err)
}

// Unwrap returns the database's error.
func (e *WriteError) Unwrap() error { return e.Err }

// Is reports api.ErrStoreUnavailable as matching.
func (e *WriteError) Is(target error) bool { return target == api.ErrStoreUnavailable }

// Prober is a Store that can show it writes: Probe makes a small real
// write, in a transaction committed as every change is, and returns its
// error (a *WriteError for a database that cannot write). The Service
// checks its health with Probe where the store has it, else with Ping.
type Prober interface {
	Probe(ctx context.Context) error
}

// Health reports whether the store answers and, if it is a Prober,
// writes: nil, or the store's error. It does one write each call: callers
// that may call it often (/healthz) keep its outcome for a while.
func (s *Service) Health(ctx context.Context) error {
	if p, ok := s.store.(Prober); ok {
		return p.Probe(ctx)
	}
	return s.store.Ping(ctx)
}

// unhealthyReason is the body of an unhealthy /healthz for err, which
// never carries the database's own text (it may hold a path or a host).
func unhealthyReason(err error) string {
	var we *WriteError
	if errors.As(err, &we) {
		return "store cannot write: " + we.Reason
	}
	return "store unavailable"
}

// healthCache keeps the outcome of the last health check. Its zero
// value holds none. Concurrent callers wait for one check rather than
// each making one.
type healthCache struct {
	mu      sync.Mutex
	checked time.Time
	err     error
}

// check returns the kept outcome if it is younger than healthTTL, else
// runs health (bounded by healthTimeout) and keeps its outcome, logging
// a change.
func (c *healthCache) check(ctx context.Context, health func(context.Context) error, log *slog.Logger) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.checked.IsZero() && time.Since(c.checked) < healthTTL {
		return c.err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), healthTimeout)
	defer cancel()
	err := health(ctx)
	if err != nil {
		log.Error("healthz: the store is unhealthy", "error", err)
	} else if c.err != nil {
		log.Info("healthz: the store is healthy again")
	}
	c.checked, c.err = time.Now(), err
	return err
}
