package channel

import (
	"fmt"
	"sync"

	"github.com/keyblob/keyblob/internal/suite"
)

// DefaultKeyPoolSize is the size of the pool a Listener makes for a seed
// server with fresh keys and no KeyPool.
const DefaultKeyPoolSize = 16

// maxKeyPoolSize bounds a pool.
const maxKeyPoolSize = 1024

// A KeyPool holds fresh RSA keys for seed sessions, refilled by one
// background goroutine, so that a burst of handshakes does not wait on
// key generation. Each key is handed out once. When the pool is empty, a
// session generates its own key. A KeyPool is safe for concurrent use;
// Close stops the refill.
type KeyPool struct {
	bits      int
	keys      chan suite.ExchangePrivate
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// NewKeyPool starts a pool of size keys (DefaultKeyPoolSize if 0, at most
// 1024) of the given size in bits (2048 if 0, 3072 or 4096).
func NewKeyPool(bits, size int) (*KeyPool, error) {
	if bits == 0 {
		bits = 2048
	}
	if size == 0 {
		size = DefaultKeyPoolSize
	}
	switch {
	case bits != 2048 && bits != 3072 && bits != 4096:
		return nil, fmt.Errorf("key pool of %d-bit keys: want 2048, 3072 or 4096", bits)
	case size < 1 || size > maxKeyPoolSize:
		return nil, fmt.Errorf("key pool of %d keys: want 1 to %d", size, maxKeyPoolSize)
	}
	p := &KeyPool{
		bits: bits, keys: make(chan suite.ExchangePrivate, size),
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	go p.refill()
	return p, nil
}

func (p *KeyPool) refill() {
	defer close(p.done)
	for {
		k, err := suite.RSAOAEP.Generate(p.bits)
		if err != nil {
			return // only bad sizes fail, and NewKeyPool checked it
		}
		select {
		case p.keys <- k:
		case <-p.stop:
			return
		}
	}
}

// take returns a key of the pool, or a new one if it is empty.
func (p *KeyPool) take() (suite.ExchangePrivate, error) {
	select {
	case k := <-p.keys:
		return k, nil
	default:
		return suite.RSAOAEP.Generate(p.bits)
	}
}

// Bits returns the size of the pool's keys.
func (p *KeyPool) Bits() int { return p.bits }

// Len returns the number of keys ready.
func (p *KeyPool) Len() int { return len(p.keys) }

// Close stops the refill and waits for it to end (at most one key
// generation). Sessions can still take the keys left, or make their own.
func (p *KeyPool) Close() error {
	p.closeOnce.Do(func() { close(p.stop) })
	<-p.done
	return nil
}
