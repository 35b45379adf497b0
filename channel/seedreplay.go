package channel

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/keyblob/keyblob/replay"
)

// A SeedReplayCache remembers the seed sessions a server in identity mode
// (SeedKeyIdentity) accepted, so that a recorded client stream replayed
// into a new connection is refused (spec/channel.md section 3.7). It is
// keyed by a session's replay identifier: replay.IDSize (32) bytes of
// HKDF-Expand of the client's aes_key || mac_key with the label
// "keyblob/v1 channel seed replay", which only the genuine initial message,
// and every copy of it, yields, and which reveals nothing of the keys.
//
// The server calls Record once per session, after the initial message
// authenticated and before it releases any of its data, with the
// handshake's context and the time of acceptance. Record is the
// reservation, an atomic first-use insert: of any number of concurrent
// Records of one id, exactly one returns nil and the others an error
// wrapping replay.ErrReplay. Any other error is a failure of the cache
// (full, unreachable) and the session is refused with it: the server
// fails closed, never accepting a session it could not record.
// Implementations must be safe for concurrent use. A cache that must
// outlive the process (so that a restart does not let old recordings in
// again) must make the id durable before Record returns;
// *sqlitecache.Cache of package replay/sqlitecache has this method, but
// such a cache must then never be purged: a seed initial message carries
// no time, so nothing else refuses an old one.
type SeedReplayCache interface {
	Record(ctx context.Context, id []byte, accepted time.Time) error
}

// ErrSeedReplayFull is returned by a MemorySeedReplay that holds as many
// ids as it may: it refuses new sessions rather than forget old ones.
var ErrSeedReplayFull = errors.New("the seed replay cache is full: restart the server or use fresh keys")

// DefaultSeedReplaySize is the capacity of the cache a seed server in
// identity mode uses when Config.SeedReplay is nil: 2^18 sessions, about
// 20 MiB when full.
const DefaultSeedReplaySize = 1 << 18

// A MemorySeedReplay is a SeedReplayCache in memory, of bounded size. It
// never forgets: when full, every Record of a new id fails with
// ErrSeedReplayFull. It forgets everything when the process ends.
type MemorySeedReplay struct {
	mu   sync.Mutex
	max  int
	seen map[[replay.IDSize]byte]struct{}
}

// NewMemorySeedReplay returns an empty cache of at most max ids (max ≥ 1).
func NewMemorySeedReplay(max int) *MemorySeedReplay {
	if max < 1 {
		panic("channel: NewMemorySeedReplay: max must be positive")
	}
	return &MemorySeedReplay{max: max, seen: make(map[[replay.IDSize]byte]struct{})}
}

// Record inserts id, or returns replay.ErrReplay if it is in the cache,
// ErrSeedReplayFull if the cache is full, or an error for an id that is
// not replay.IDSize bytes. It ignores ctx and accepted.
func (m *MemorySeedReplay) Record(_ context.Context, id []byte, _ time.Time) error {
	if len(id) != replay.IDSize {
		return fmt.Errorf("a replay identifier is %d bytes, not %d", replay.IDSize, len(id))
	}
	key := [replay.IDSize]byte(id)
	m.mu.Lock()
	defer m.mu.Unlock()
	switch _, ok := m.seen[key]; {
	case ok:
		return replay.ErrReplay
	case len(m.seen) >= m.max:
		return ErrSeedReplayFull
	}
	m.seen[key] = struct{}{}
	return nil
}

// Len returns the number of ids in the cache.
func (m *MemorySeedReplay) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.seen)
}

// defaultSeedReplay is the process's cache for identity-mode servers
// without Config.SeedReplay, shared by all of them.
var defaultSeedReplay = sync.OnceValue(func() *MemorySeedReplay {
	return NewMemorySeedReplay(DefaultSeedReplaySize)
})

func (c *Config) seedReplay() SeedReplayCache {
	if c.SeedReplay != nil {
		return c.SeedReplay
	}
	return defaultSeedReplay()
}

// recordSeedSession reserves the replay id of a seed session's keys. An
// error refuses the session: a replay wraps both ErrAuth and
// replay.ErrReplay.
func (c *Config) recordSeedSession(ctx context.Context, secret []byte) error {
	id := expand(secret, labelSeedReplay, nil, replay.IDSize)
	err := c.seedReplay().Record(ctx, id, time.Now())
	switch {
	case err == nil:
		return nil
	case errors.Is(err, replay.ErrReplay):
		return fmt.Errorf("%w: %w: a recorded seed session", ErrAuth, replay.ErrReplay)
	}
	return fmt.Errorf("seed replay cache: %w", err)
}
