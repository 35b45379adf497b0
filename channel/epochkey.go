package channel

import (
	"cmp"
	"errors"
	"fmt"
	"sync"
	"time"
	"weak"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/suite"
	"github.com/keyblob/keyblob/replay"
)

// Identity mode (SeedKeyIdentity, spec/channel.md section 3.8): the seed
// server sends an epoch key, an RSA key that its identity signed, to every
// session of an epoch, and remembers the sessions the epoch accepted.
// Epoch keys live in memory only. When an epoch ends, its key and its
// replay ids are forgotten together: a recording made under it can no
// longer be opened, by this process or by any after a restart, so a
// forgotten id can never be replayed, and nothing on disk needs keeping.

// DefaultSeedEpoch is how long an identity-mode seed server sends one
// epoch key when Config.SeedEpoch is zero.
const DefaultSeedEpoch = 10 * time.Minute

// Bounds of an epoch.
const (
	// seedEpochSessions is the most hellos of one epoch key, and so the
	// most replay ids it holds (about 5 MiB): then the next key takes
	// over, so sessions that fill it cannot lock others out.
	seedEpochSessions = 1 << 16
	// maxSeedEpoch bounds Config.SeedEpoch.
	maxSeedEpoch = 7 * 24 * time.Hour
	// maxEpochSources bounds the process's table of epoch sources.
	maxEpochSources = 1024
)

// errSeedEpochSpent is the error of an epoch whose successor is not
// ready although the epoch is spent.
var errSeedEpochSpent = fmt.Errorf("%w: the seed epoch key is spent and its successor is still being made", ErrOverloaded)

// A seedEpoch is one epoch key with its signed hello and the replay ids
// of the sessions it accepted.
type seedEpoch struct {
	key   kemPrivate
	hello []byte
	bits  int
	ends  time.Time

	mu   sync.Mutex
	sent int
	seen map[[replay.IDSize]byte]struct{}
}

// newSeedEpoch makes an epoch of k signed by id (unsigned if id is nil),
// its hello carrying chain if not nil.
func newSeedEpoch(k suite.ExchangePrivate, id *keyblob.Identity, chain [][]byte, ends time.Time) (*seedEpoch, error) {
	der, err := k.Public().MarshalPKIX()
	if err != nil {
		return nil, err
	}
	h := &seedHello{der: der}
	if chain != nil {
		h.chain = marshalSeedChain(chain)
	}
	if id != nil && id.CanSign() {
		if h.sig, err = id.Sign(seedSignatureContext, der); err != nil {
			return nil, err
		}
	}
	priv, _ := suite.KEMPrivateOf(k)
	return &seedEpoch{key: priv, hello: h.marshal(), bits: k.Public().Bits(), ends: ends, seen: map[[replay.IDSize]byte]struct{}{}}, nil
}

// reserve counts a hello of e, reporting false once e is spent.
func (e *seedEpoch) reserve() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.sent >= seedEpochSessions {
		return false
	}
	e.sent++
	return true
}

// spent reports whether e has been sent as often as it may, or ended.
func (e *seedEpoch) spent(now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sent >= seedEpochSessions || !now.Before(e.ends)
}

// waning reports whether e's successor should be made: three quarters of
// its time or sessions are gone.
func (e *seedEpoch) waning(now time.Time, life time.Duration) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sent >= seedEpochSessions*3/4 || now.After(e.ends.Add(-life/4))
}

// record inserts a session's replay id, an atomic first use: of any
// number of concurrent records of one id exactly one returns nil, the
// others replay.ErrReplay. Every id recorded had a reserved hello, so
// the set never outgrows seedEpochSessions.
func (e *seedEpoch) record(id []byte) error {
	key := [replay.IDSize]byte(id)
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.seen[key]; ok {
		return replay.ErrReplay
	}
	e.seen[key] = struct{}{}
	return nil
}

// An epochSource hands out the epochs of one identity, key size and
// epoch length, making each successor in the background before it is
// needed.
type epochSource struct {
	id    *keyblob.Identity
	bits  int
	life  time.Duration
	chain [][]byte // the certificate chain hellos carry

	mu     sync.Mutex
	cur    *seedEpoch
	next   *seedEpoch
	making bool
}

// current returns the epoch for a new hello, with a hello reserved in
// it. The first epoch is made here if prepare was not called.
func (s *epochSource) current(now time.Time) (*seedEpoch, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		if err := s.first(now); err != nil {
			return nil, err
		}
	}
	if s.cur.spent(now) && s.next != nil {
		s.cur, s.next = s.next, nil
	}
	if s.cur.waning(now, s.life) && s.next == nil && !s.making {
		s.making = true
		go s.makeNext(s.cur.ends)
	}
	if !s.cur.reserve() {
		return nil, errSeedEpochSpent
	}
	return s.cur, nil
}

// prepare makes the first epoch now, outside any handshake.
func (s *epochSource) prepare(now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil {
		return nil
	}
	return s.first(now)
}

func (s *epochSource) first(now time.Time) error {
	e, err := s.make(now.Add(s.life))
	if err == nil {
		s.cur = e
	}
	return err
}

// makeNext makes the epoch that follows one ending at after.
func (s *epochSource) makeNext(after time.Time) {
	start := time.Now()
	if start.Before(after) {
		start = after
	}
	e, err := s.make(start.Add(s.life))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.making = false
	if err == nil {
		s.next = e
	}
}

func (s *epochSource) make(ends time.Time) (*seedEpoch, error) {
	k, err := suite.RSAOAEP.Generate(s.bits)
	if err != nil {
		return nil, err
	}
	return newSeedEpoch(k, s.id, s.chain, ends)
}

// epochSourceKey names a source: the identity (not kept alive by the
// table), the key size, the epoch length and the certificate chain (by
// the address of its slice's first element, so that the key costs no
// work per handshake).
type epochSourceKey struct {
	id    weak.Pointer[keyblob.Identity]
	bits  int
	life  time.Duration
	chain *[]byte // the certificate chain's first element: Configs copied share it
}

// epochSources is the process's table of epoch sources, so that every
// Conn and Session of one server identity shares its epoch and replay
// ids.
var epochSources = struct {
	sync.Mutex
	m map[epochSourceKey]*epochSource
}{m: map[epochSourceKey]*epochSource{}}

// epochSourceOf returns the source of c's identity-mode epochs.
func (c *Config) epochSourceOf() (*epochSource, error) {
	k := epochSourceKey{id: weak.Make(c.Identity), bits: c.rsaBits(), life: c.seedEpoch()}
	if len(c.Certificate) > 0 {
		k.chain = &c.Certificate[0]
	}
	epochSources.Lock()
	defer epochSources.Unlock()
	if s := epochSources.m[k]; s != nil {
		return s, nil
	}
	if len(epochSources.m) >= maxEpochSources {
		for k := range epochSources.m {
			if k.id.Value() == nil {
				delete(epochSources.m, k)
			}
		}
	}
	if len(epochSources.m) >= maxEpochSources {
		return nil, errors.New("too many identity-mode seed servers in one process")
	}
	s := &epochSource{id: c.Identity, bits: k.bits, life: k.life, chain: c.Certificate}
	epochSources.m[k] = s
	return s, nil
}

func (c *Config) seedEpoch() time.Duration { return cmp.Or(c.SeedEpoch, DefaultSeedEpoch) }

// seedEpochNow returns the epoch of a new identity-mode session: the
// test hook's key in an epoch of its own, else the source's.
func (c *Config) seedEpochNow() (*seedEpoch, error) {
	if c.hooks != nil && c.hooks.seedKey != nil {
		return newSeedEpoch(c.hooks.seedKey, c.Identity, c.Certificate, time.Now().Add(c.seedEpoch()))
	}
	s, err := c.epochSourceOf()
	if err != nil {
		return nil, err
	}
	return s.current(time.Now())
}

// prepareSeed makes, for a server about to accept, what its handshakes
// take from without waiting: the first identity-mode epoch, or the
// fresh-key pool started.
func (c *Config) prepareSeed() error {
	switch {
	case c.profile().id != Seed || (c.hooks != nil && c.hooks.seedKey != nil):
		return nil
	case c.SeedKey == SeedKeyIdentity:
		s, err := c.epochSourceOf()
		if err != nil {
			return err
		}
		return s.prepare(time.Now())
	case c.KeyPool == nil:
		_, err := sharedPool(c.rsaBits())
		return err
	}
	return nil
}

// recordSeedSession reserves the replay id of a seed session's keys in
// its epoch. A replay wraps both ErrAuth and replay.ErrReplay.
func recordSeedSession(e *seedEpoch, secret []byte) error {
	id := expand(secret, labelSeedReplay, nil, replay.IDSize)
	if err := e.record(id); err != nil {
		return fmt.Errorf("%w: %w: a recorded seed session", ErrAuth, err)
	}
	return nil
}
