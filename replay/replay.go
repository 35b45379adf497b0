// Package replay protects against replayed messages, as CryptoAPI's "Sending an Encrypted Session Key" proposes:
// by timestamps (a Window of acceptable creation times) and serial numbers
// (a cache that remembers the replay identifiers of accepted messages).
//
// This package holds what every cache and every caller share: the size of
// a replay identifier and the errors a cache returns. It has no storage;
// the cache a message opener uses is an interface its consumer defines
// (seal.ReplayCache), and package replay/sqlitecache is its SQLite
// implementation.
//
// A replay identifier must be something only the genuine message yields: a
// value derived from the message's secret (package seal derives it from the
// session key and the serial), never a field in clear such as the serial
// alone, which anyone who sees the message could put in another message
// first, or the signer, which a recipient could strip.
package replay

import (
	"errors"
	"fmt"
	"time"
)

// ErrReplay is returned for a message that was already accepted: by a
// cache's Check, and by its Record for every Record of an identifier but
// the first. It is the module's one "already accepted" error.
var ErrReplay = errors.New("message already accepted once (replayed)")

// ErrTooOld is returned for a message older than the window allows, or
// older than what a cache can still vouch for.
var ErrTooOld = errors.New("message is too old")

// ErrFuture is returned for a message dated further in the future than the
// window's skew.
var ErrFuture = errors.New("message is dated in the future")

// IDSize is the size of a replay identifier.
const IDSize = 32

// DefaultSkew is how far in the future a creation time may be, for clocks
// that differ a little.
const DefaultSkew = 5 * time.Minute

// A Window bounds acceptable creation times. The zero MaxAge accepts any
// age; the zero Skew means DefaultSkew.
type Window struct {
	MaxAge time.Duration
	Skew   time.Duration
}

func (w Window) skew() time.Duration {
	if w.Skew == 0 {
		return DefaultSkew
	}
	return w.Skew
}

// Check reports whether a message created at created may be accepted now:
// ErrFuture or ErrTooOld, wrapped with the times, if not.
func (w Window) Check(created, now time.Time) error {
	if created.After(now.Add(w.skew())) {
		return fmt.Errorf("%w (%s, now %s)", ErrFuture, created.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if w.MaxAge > 0 && created.Before(now.Add(-w.MaxAge)) {
		return fmt.Errorf("%w: created %s, more than %s ago", ErrTooOld, created.UTC().Format(time.RFC3339), w.MaxAge)
	}
	return nil
}
