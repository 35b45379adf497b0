package channel

import (
	"bytes"
	"sync"
	"weak"

	"github.com/keyblob/keyblob"
)

// identityHellos holds the signed hello of each identity-mode seed server
// identity. The hello is the identity's key and a signature over it alone
// (spec/channel.md section 3.1), the same for every session, so one
// signature serves them all: an identity-mode handshake then costs the
// server one RSA private operation (the decryption) instead of two. A
// signature sent again reveals nothing a client did not already see.
var identityHellos = &helloCache{m: make(map[weak.Pointer[keyblob.Identity]][]byte)}

// maxCachedHellos bounds the cache; past it, hellos are signed per
// session.
const maxCachedHellos = 64

// helloCache maps identities to their hello without keeping them alive:
// an entry whose identity was collected is dropped when the cache fills.
type helloCache struct {
	mu sync.Mutex
	m  map[weak.Pointer[keyblob.Identity]][]byte
}

// get returns id's hello, made with make on first use. The caller may
// not change it.
func (c *helloCache) get(id *keyblob.Identity, make func() ([]byte, error)) ([]byte, error) {
	key := weak.Make(id)
	c.mu.Lock()
	hello, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return bytes.Clone(hello), nil
	}
	hello, err := make()
	if err != nil {
		return nil, err
	}
	c.put(key, hello)
	return hello, nil
}

func (c *helloCache) put(key weak.Pointer[keyblob.Identity], hello []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCachedHellos {
		for k := range c.m {
			if k.Value() == nil {
				delete(c.m, k)
			}
		}
	}
	if len(c.m) < maxCachedHellos {
		c.m[key] = bytes.Clone(hello)
	}
}
