package authority

import (
	"sync"

	"github.com/keyblob/keyblob"
)

// recipientCacheSize bounds the parsed recipients a Service keeps: a
// hybrid one holds its expanded ML-KEM key, some kilobytes.
const recipientCacheSize = 1024

// recipientCache keeps the parsed keys of recipient lines read from the
// store (owners' identities, recovery requests' new ones), so that a
// signed request does not parse its signer's line again: parsing a
// hybrid line expands its ML-KEM key, a good part of a deposit's work.
// It is keyed by the exact line, whose parse it returns, so it never
// needs invalidating: a changed binding is another line. When full, an
// entry is dropped at random (Go's map order). Lines that do not parse
// are not kept. It is safe for concurrent use.
type recipientCache struct {
	mu    sync.Mutex
	max   int
	lines map[string]*keyblob.Recipient
}

func newRecipientCache(max int) *recipientCache {
	return &recipientCache{max: max, lines: make(map[string]*keyblob.Recipient, min(max, 64))}
}

// parse returns keyblob.ParseRecipientLine(line), from the cache when it
// has it. A *keyblob.Recipient is immutable, so callers share it.
func (c *recipientCache) parse(line string) (*keyblob.Recipient, error) {
	c.mu.Lock()
	r := c.lines[line]
	c.mu.Unlock()
	if r != nil {
		return r, nil
	}
	r, err := keyblob.ParseRecipientLine(line)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.lines[line]; !ok && len(c.lines) >= c.max {
		for k := range c.lines {
			delete(c.lines, k)
			break
		}
	}
	c.lines[line] = r
	return r, nil
}

// len returns the number of lines kept.
func (c *recipientCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.lines)
}
