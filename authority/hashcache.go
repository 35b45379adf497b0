package authority

import (
	"context"
	"sync"

	"golang.org/x/mod/sumdb/tlog"
)

// hashCacheSize is how many stored hashes of the tree a Service keeps in
// memory (about 2.5 MiB): enough for the right edge of the tree and its
// recent tiles, which nearly every proof reads.
const hashCacheSize = 1 << 16

// hashCache keeps stored hashes of the tree read from the store. A stored
// hash never changes once committed (the tree only grows), so the cache
// needs no invalidation: an entry is only ever replaced by another index.
// It is direct-mapped, so that it is bounded without bookkeeping.
type hashCache struct {
	mu    sync.Mutex
	slots [hashCacheSize]struct {
		idx  int64 // plus one: zero is an empty slot
		hash tlog.Hash
	}
}

func (c *hashCache) get(idx int64) (tlog.Hash, bool) {
	s := &c.slots[idx%hashCacheSize]
	return s.hash, s.idx == idx+1
}

func (c *hashCache) put(idx int64, h tlog.Hash) {
	s := &c.slots[idx%hashCacheSize]
	s.idx, s.hash = idx+1, h
}

// storeHashes is the store's tree as a tlog.HashReader, through the
// service's cache.
type storeHashes struct {
	ctx   context.Context
	store Store
	cache *hashCache
}

// ReadHashes reads the hashes at indexes, from the cache where it holds
// them and in one store read for the others.
func (r storeHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	var missing []int64
	var at []int
	r.cache.mu.Lock()
	for i, idx := range indexes {
		var ok bool
		if out[i], ok = r.cache.get(idx); !ok {
			missing, at = append(missing, idx), append(at, i)
		}
	}
	r.cache.mu.Unlock()
	if len(missing) == 0 {
		return out, nil
	}
	read, err := r.store.TreeHashes(r.ctx, missing)
	if err != nil {
		return nil, err
	}
	r.cache.mu.Lock()
	defer r.cache.mu.Unlock()
	for j, h := range read {
		out[at[j]] = h
		r.cache.put(missing[j], h)
	}
	return out, nil
}
