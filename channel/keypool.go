package channel

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/keyblob/keyblob/internal/suite"
	"golang.org/x/time/rate"
)

// Defaults of a KeyPoolConfig's zero fields.
const (
	// DefaultKeyPoolSize is the number of keys a pool keeps ready.
	DefaultKeyPoolSize = 32
	// DefaultKeyPoolRate is the most keys a pool generates per second:
	// an RSA-2048 key takes 40 to 60 ms of one core, so about half a
	// core at most, whatever the connections ask for.
	DefaultKeyPoolRate = 10
	// DefaultKeyWait is how long a session waits for a key when the
	// pool is empty before it is refused.
	DefaultKeyWait = 2 * time.Second
)

// maxKeyPoolSize bounds a pool; maxKeyWaiters bounds the sessions
// waiting for a key (more are refused at once).
const (
	maxKeyPoolSize = 1024
	maxKeyWaiters  = 256
)

// ErrOverloaded wraps the error of a server handshake refused because a
// shared resource ran out: no fresh seed key came in time (KeyPool), the
// handshakes' memory budget is spent, or an identity-mode epoch is full
// while its successor is still being made. The connection is closed
// without anything sent; the client may retry later.
var ErrOverloaded = errors.New("channel server overloaded")

// A KeyPoolConfig configures a KeyPool. Every zero field means its
// default.
type KeyPoolConfig struct {
	// Bits is the size of the keys: 2048 (if 0), 3072 or 4096.
	Bits int
	// Size is the number of keys kept ready: DefaultKeyPoolSize if 0,
	// at most 1024.
	Size int
	// Rate is the most keys generated per second (DefaultKeyPoolRate if
	// 0): the pool's bound on the CPU that fresh keys take.
	Rate float64
	// Wait is how long a session waits for a key when the pool is empty
	// (DefaultKeyWait if 0, at most the handshake's own deadline).
	Wait time.Duration
}

// A KeyPool holds fresh RSA keys for seed sessions, made by one
// background goroutine at most Rate keys per second, so that key
// generation never runs inside a handshake and connections cannot make
// the server generate keys faster than that (spec/channel.md section
// 3.1). Each key is handed out once and never written anywhere. When the
// pool is empty a session waits up to Wait for the next key; the newest
// waiter is served first, so that a burst of connections that never go
// on cannot hold back a client that comes after it, and past
// maxKeyWaiters waiters or Wait a session is refused with ErrOverloaded.
// A KeyPool is safe for concurrent use; Close stops the refill.
type KeyPool struct {
	cfg     KeyPoolConfig
	limiter *rate.Limiter

	mu      sync.Mutex
	ready   []suite.ExchangePrivate
	waiters []chan suite.ExchangePrivate // newest last
	closed  bool

	need      chan struct{} // woken when a key is taken
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// NewKeyPool checks cfg and starts a pool.
func NewKeyPool(cfg KeyPoolConfig) (*KeyPool, error) {
	cfg.Bits = cmp.Or(cfg.Bits, 2048)
	cfg.Size = cmp.Or(cfg.Size, DefaultKeyPoolSize)
	cfg.Rate = cmp.Or(cfg.Rate, DefaultKeyPoolRate)
	cfg.Wait = cmp.Or(cfg.Wait, DefaultKeyWait)
	switch {
	case cfg.Bits != 2048 && cfg.Bits != 3072 && cfg.Bits != 4096:
		return nil, fmt.Errorf("key pool of %d-bit keys: want 2048, 3072 or 4096", cfg.Bits)
	case cfg.Size < 1 || cfg.Size > maxKeyPoolSize:
		return nil, fmt.Errorf("key pool of %d keys: want 1 to %d", cfg.Size, maxKeyPoolSize)
	case cfg.Rate <= 0 || cfg.Wait < 0:
		return nil, errors.New("key pool: Rate must be positive and Wait not negative")
	}
	p := &KeyPool{
		cfg: cfg, limiter: rate.NewLimiter(rate.Limit(cfg.Rate), 1),
		need: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	go p.refill()
	return p, nil
}

// refill makes keys at the pool's rate while it is not full.
func (p *KeyPool) refill() {
	defer close(p.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-p.stop; cancel() }()
	for {
		for p.full() {
			select {
			case <-p.need:
			case <-p.stop:
				return
			}
		}
		if p.limiter.Wait(ctx) != nil {
			return
		}
		k, err := suite.RSAOAEP.Generate(p.cfg.Bits)
		if err != nil {
			return // only bad sizes fail, and NewKeyPool checked it
		}
		p.put(k)
	}
}

func (p *KeyPool) full() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.ready) >= p.cfg.Size && len(p.waiters) == 0
}

// put hands k to the newest waiter, or keeps it.
func (p *KeyPool) put(k suite.ExchangePrivate) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.waiters); n > 0 {
		w := p.waiters[n-1]
		p.waiters = p.waiters[:n-1]
		w <- k // buffered: never blocks
		return
	}
	p.ready = append(p.ready, k)
}

// take returns a key of the pool, waiting for one up to the pool's Wait
// and ctx; it never generates one.
func (p *KeyPool) take(ctx context.Context) (suite.ExchangePrivate, error) {
	k, w, err := p.takeOrQueue()
	if k != nil || err != nil {
		return k, err
	}
	t := time.NewTimer(p.cfg.Wait)
	defer t.Stop()
	select {
	case k := <-w:
		return k, nil
	case <-t.C:
	case <-ctx.Done():
	}
	if !p.dequeue(w) {
		return <-w, nil // handed over as the wait ended
	}
	return nil, fmt.Errorf("%w: no fresh seed key within %v (the key pool makes %g a second)", ErrOverloaded, p.cfg.Wait, p.cfg.Rate)
}

// takeOrQueue pops a ready key, or else queues a waiter.
func (p *KeyPool) takeOrQueue() (suite.ExchangePrivate, chan suite.ExchangePrivate, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.wake()
	if n := len(p.ready); n > 0 {
		k := p.ready[n-1]
		p.ready[n-1] = nil
		p.ready = p.ready[:n-1]
		return k, nil, nil
	}
	if p.closed || len(p.waiters) >= maxKeyWaiters {
		return nil, nil, fmt.Errorf("%w: no fresh seed key (%d sessions already waiting)", ErrOverloaded, len(p.waiters))
	}
	w := make(chan suite.ExchangePrivate, 1)
	p.waiters = append(p.waiters, w)
	return nil, w, nil
}

// dequeue removes w, reporting false if a key was handed to it already.
func (p *KeyPool) dequeue(w chan suite.ExchangePrivate) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, x := range p.waiters {
		if x == w {
			p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
			return true
		}
	}
	return false
}

// wake tells the refill that a key was taken or is wanted.
func (p *KeyPool) wake() {
	select {
	case p.need <- struct{}{}:
	default:
	}
}

// Bits returns the size of the pool's keys.
func (p *KeyPool) Bits() int { return p.cfg.Bits }

// Len returns the number of keys ready.
func (p *KeyPool) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.ready)
}

// Close stops the refill and waits for it to end (at most one key
// generation). Sessions can still take the keys left; waiters and later
// sessions that find none are refused.
func (p *KeyPool) Close() error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		close(p.stop)
	})
	<-p.done
	return nil
}

// sharedPools are the process's pools, one per key size, for the fresh
// seed servers without Config.KeyPool: their Rate is then a bound for the
// whole process.
var sharedPools = struct {
	sync.Mutex
	m map[int]*KeyPool
}{m: map[int]*KeyPool{}}

// sharedPool returns the process's pool of bits-bit keys, starting it on
// first use.
func sharedPool(bits int) (*KeyPool, error) {
	sharedPools.Lock()
	defer sharedPools.Unlock()
	if p := sharedPools.m[bits]; p != nil {
		return p, nil
	}
	p, err := NewKeyPool(KeyPoolConfig{Bits: bits})
	if err != nil {
		return nil, err
	}
	sharedPools.m[bits] = p
	return p, nil
}
