package channel

import (
	"fmt"
	"sync"
)

// DefaultHandshakeMemory is the budget of a Listener's handshakes when
// Limits.HandshakeMemory is zero: the handshake messages all its Conns
// are receiving at once hold at most this many bytes.
const DefaultHandshakeMemory = 32 << 20

// A memBudget is a count of bytes that handshakes reserve before they
// read a message of that size and give back when the handshake ends.
type memBudget struct {
	mu   sync.Mutex
	left int
}

func newMemBudget(n int) *memBudget { return &memBudget{left: n} }

// take reserves n bytes, reporting false (and reserving nothing) if
// fewer are left.
func (b *memBudget) take(n int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.left {
		return false
	}
	b.left -= n
	return true
}

func (b *memBudget) give(n int) {
	b.mu.Lock()
	b.left += n
	b.mu.Unlock()
}

func (c *Config) handshakeMemory() int {
	if c.Limits.HandshakeMemory <= 0 {
		return DefaultHandshakeMemory
	}
	return c.Limits.HandshakeMemory
}

// reserve makes the Conn's reservation in its Listener's budget at least
// size bytes, the frame it is about to read. A Conn of no Listener has
// no budget.
func (c *Conn) reserve(size int) error {
	if c.budget == nil || size <= c.reserved {
		return nil
	}
	if !c.budget.take(size - c.reserved) {
		return fmt.Errorf("%w: the handshakes' memory budget (%d bytes) is spent", ErrOverloaded, c.cfg.handshakeMemory())
	}
	c.reserved = size
	return nil
}

// release gives the Conn's reservation back, once its handshake ended.
func (c *Conn) release() {
	if c.budget != nil {
		c.budget.give(c.reserved)
	}
	c.reserved = 0
}
