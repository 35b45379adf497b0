package sqlstore

import (
	"slices"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// readLog is a tlog.HashReader that records what it is asked for.
type readLog struct{ read []int64 }

func (r *readLog) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	r.read = append(r.read, indexes...)
	return make([]tlog.Hash, len(indexes)), nil
}

// TestEdgeIndexes checks that the edge of a tree of n leaves is exactly
// what the next append reads (tlog.StoredHashes of leaf n) and what the
// tree's root is made of (tlog.TreeHash), so that an append with a known
// edge reads nothing from the store.
func TestEdgeIndexes(t *testing.T) {
	for n := int64(1); n < 600; n++ {
		edge := edgeIndexes(n)
		root := &readLog{}
		if _, err := tlog.TreeHash(n, root); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(sorted(root.read), sorted(edge)) {
			t.Fatalf("tree of %d: TreeHash reads %v, the edge is %v", n, root.read, edge)
		}
		next := &readLog{}
		if _, err := tlog.StoredHashes(n, []byte("leaf"), next); err != nil {
			t.Fatal(err)
		}
		for _, idx := range next.read {
			if !slices.Contains(edge, idx) {
				t.Fatalf("appending leaf %d reads hash %d, not in the edge %v", n, idx, edge)
			}
		}
	}
}

func sorted(s []int64) []int64 {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
