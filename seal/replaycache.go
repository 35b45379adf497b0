package seal

import (
	"context"
	"time"
)

// A ReplayCache remembers the messages a recipient has accepted, so that
// OpenOptions.Cache accepts each message once. It is keyed by the
// message's replay identifier: replay.IDSize (32) bytes of HKDF-SHA-256
// of the session key and the serial (spec/sealed.md, 6), which only the
// genuine message, and every copy of it, yields. Package
// replay/sqlitecache is the SQLite implementation; any other storage may
// implement it, and must be safe for concurrent use by goroutines (and by
// processes, if several share it).
//
// An Opener calls Purge (when OpenOptions.MaxAge is set) and then Check
// once the header is authenticated, before any payload is decrypted; it
// calls Record only after the header MAC, every payload chunk and the
// signature have verified, and before it reports success, so no
// plaintext is released as authentic until Record has returned nil. Each
// call gets OpenOptions.Context. The errors that mean an outcome, which
// an Opener returns as they are, are replay.ErrReplay (already accepted)
// and replay.ErrTooOld (older than the cache can vouch for); any other
// error is a failure of the cache, and the message is refused with it
// (fail closed).
type ReplayCache interface {
	// Check reports whether the message may still be accepted: an error
	// wrapping replay.ErrReplay if id was recorded, or replay.ErrTooOld
	// if created is before the purge horizon. It records nothing: it only
	// refuses a replay early, and the decision is Record's.
	Check(ctx context.Context, id []byte, created time.Time) error
	// Record is the reservation: atomically, it checks as Check does and
	// inserts id (an atomic first-use insert). Of any number of
	// concurrent Records of one id, exactly one returns nil and the
	// others an error wrapping replay.ErrReplay. The id must be durable
	// when Record returns nil: a caller that crashes afterwards has used
	// the message up.
	Record(ctx context.Context, id []byte, created time.Time) error
	// Purge forgets the ids of messages created before before and from
	// then on refuses, with replay.ErrTooOld, every message created before
	// it, recorded or not, so that forgetting never lets a message be
	// accepted twice. The horizon only moves forward: a Purge with an
	// earlier time keeps the later one.
	Purge(ctx context.Context, before time.Time) error
}

// cacheContext returns the context of the replay cache calls.
func (o *Opener) cacheContext() context.Context {
	if o.opts.Context != nil {
		return o.opts.Context
	}
	return context.Background()
}
