package authority

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/keyblob/keyblob/authority/api"
)

// ErrLogTampered is matched (errors.Is) by every *LogError.
var ErrLogTampered = errors.New("the audit log was tampered with")

// A LogProblem is what VerifyLog found (spec/escrow-api.md section 6.8).
type LogProblem uint8

// The problems VerifyLog names, besides the chain's (*api.ChainError:
// an entry edited, removed or inserted).
const (
	// DeletedTail: entries the head names are missing from the end.
	DeletedTail LogProblem = iota + 1
	// MovedHead: the head does not name the last entry, or its tree.
	MovedHead
	// RewrittenTree: the stored tree, or the head's root, is not the tree
	// of the entries.
	RewrittenTree
	// Truncated: a checkpoint signed more entries than the store holds.
	Truncated
	// RewrittenHistory: the entries do not give the root a checkpoint
	// signed for their size.
	RewrittenHistory
)

// LogError names the first difference VerifyLog found.
type LogError struct {
	Problem LogProblem
	Detail  string
}

func (e *LogError) Error() string { return fmt.Sprintf("%s: %s", ErrLogTampered, e.Detail) }

// Is makes errors.Is(err, ErrLogTampered) true.
func (e *LogError) Is(target error) bool { return target == ErrLogTampered }

func logError(p LogProblem, format string, args ...any) error {
	return &LogError{Problem: p, Detail: fmt.Sprintf(format, args...)}
}

// VerifyLog reads s's whole audit log and checks it (spec section 6.8):
// the hash chain (VerifyChain), the head against the last entry, the
// Merkle tree recomputed from the entries against the head's root and the
// stored tree, and against each checkpoint given (verified ones, from
// receipts, clients or monitors). It returns the head, or the first
// difference: a *api.ChainError or a *LogError. It holds O(log n) hashes.
func VerifyLog(ctx context.Context, s Store, checkpoints []api.Checkpoint) (api.AuditHead, error) {
	want := map[uint64][]api.Checkpoint{}
	for _, c := range checkpoints {
		want[c.Size] = append(want[c.Size], c)
	}
	w := &treeWalk{r: (&compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}).NewEmptyRange(0), want: want,
		ctx: ctx, store: s}
	last, err := api.VerifyChain(w.entries(Entries(ctx, s)))
	if err == nil && w.err == nil {
		w.flush()
	}
	if err != nil || w.err != nil {
		return last, errors.Join(err, w.err)
	}
	stored, err := s.AuditHead(ctx)
	if err != nil {
		return last, err
	}
	if err := checkHead(stored, last); err != nil {
		return last, err
	}
	if err := w.checkTree(ctx, s, stored); err != nil {
		return last, err
	}
	return stored, checkTruncated(checkpoints, last.Seq)
}

// treeWalk recomputes the tree as the chain is read, and compares every
// hash the store keeps with it, a tile's worth at a time.
type treeWalk struct {
	r       *compact.Range
	want    map[uint64][]api.Checkpoint
	roots   map[uint64]tlog.Hash
	err     error
	ctx     context.Context
	store   Store
	pending []int64
	hashes  []tlog.Hash
}

// visit queues a node of the recomputed tree for comparison.
func (w *treeWalk) visit(id compact.NodeID, hash []byte) {
	w.pending = append(w.pending, tlog.StoredHashIndex(int(id.Level), int64(id.Index)))
	w.hashes = append(w.hashes, tlog.Hash(hash))
}

// flush compares the queued nodes with the stored tree.
func (w *treeWalk) flush() {
	if len(w.pending) == 0 || w.err != nil {
		return
	}
	stored, err := w.store.TreeHashes(w.ctx, w.pending)
	for i := range w.pending {
		if err != nil || stored[i] != w.hashes[i] {
			level, n := tlog.SplitStoredHashIndex(w.pending[i])
			w.err = logError(RewrittenTree, "the stored tree's node %d at level %d is not that of the entries", n, level)
			break
		}
	}
	w.pending, w.hashes = w.pending[:0], w.hashes[:0]
}

// entries passes entries on, adding each to the tree.
func (w *treeWalk) entries(in iter.Seq2[api.AuditEntry, error]) iter.Seq2[api.AuditEntry, error] {
	w.roots = map[uint64]tlog.Hash{0: emptyRoot()}
	return func(yield func(api.AuditEntry, error) bool) {
		for e, err := range in {
			if err == nil && w.err == nil && e.Seq == w.r.End()+1 {
				w.add(&e)
			}
			if !yield(e, err) {
				return
			}
		}
	}
}

// add appends e's leaf and checks the checkpoints of the new size.
func (w *treeWalk) add(e *api.AuditEntry) {
	leaf := api.LeafHash(e)
	if w.err = w.r.Append(leaf[:], w.visit); w.err != nil {
		return
	}
	if len(w.pending) >= maxTreeCompare {
		w.flush()
	}
	root, err := w.root()
	if err != nil {
		w.err = err
		return
	}
	w.roots[e.Seq] = root
	for _, c := range w.want[e.Seq] {
		if c.Root != root {
			w.err = logError(RewrittenHistory, "history was rewritten: the first %d entries' tree has root %s, a checkpoint signed %s",
				e.Seq, root, c.Root)
			return
		}
	}
	if len(w.roots) > 2 {
		delete(w.roots, e.Seq-1) // keep the empty tree's and the latest
	}
}

func (w *treeWalk) root() (tlog.Hash, error) {
	b, err := w.r.GetRootHash(nil)
	if err != nil {
		return tlog.Hash{}, err
	}
	return tlog.Hash(b), nil
}

// checkTree compares the recomputed tree with the head's and the
// stored one.
func (w *treeWalk) checkTree(ctx context.Context, s Store, h api.AuditHead) error {
	if h.TreeSize != w.r.End() {
		return w.checkOlderTree(ctx, s, h)
	}
	if root := w.roots[h.TreeSize]; root != h.Root {
		return logError(RewrittenTree, "the head's tree root %s is not the root %s of the %d entries", h.Root, root, h.TreeSize)
	}
	return checkStoredTree(ctx, s, h)
}

// checkOlderTree accepts a tree that holds fewer entries than the log
// only where the stored tree ends there too: a log written before its
// tree (schema version 1), which the next append completes.
func (w *treeWalk) checkOlderTree(ctx context.Context, s Store, h api.AuditHead) error {
	if h.TreeSize > w.r.End() {
		return logError(MovedHead, "the head's tree holds %d entries, the log %d", h.TreeSize, w.r.End())
	}
	if _, err := s.TreeHashes(ctx, []int64{tlog.StoredHashIndex(0, int64(h.TreeSize))}); err == nil {
		return logError(MovedHead, "the head was moved back: it names a tree of %d entries, the stored tree holds more", h.TreeSize)
	}
	return logError(RewrittenTree, "the tree holds %d of the log's %d entries", h.TreeSize, w.r.End())
}

// checkStoredTree compares the stored tree's root with the head's, and
// checks that the stored tree ends where the head says.
func checkStoredTree(ctx context.Context, s Store, h api.AuditHead) error {
	root, err := tlog.TreeHash(int64(h.TreeSize), storeHashes{ctx: ctx, store: s, cache: new(hashCache)})
	if err != nil || root != h.Root {
		return logError(RewrittenTree, "the stored tree of %d entries does not give the head's root %s", h.TreeSize, h.Root)
	}
	if _, err := s.TreeHashes(ctx, []int64{tlog.StoredHashIndex(0, int64(h.TreeSize))}); err == nil {
		return logError(MovedHead, "the head was moved back: it names %d entries, the stored tree holds more", h.TreeSize)
	}
	return nil
}

// checkHead compares the stored head with the last entry of the chain.
func checkHead(stored, last api.AuditHead) error {
	switch {
	case stored.Seq > last.Seq:
		return logError(DeletedTail, "the newest entries were deleted: the head names entry %d, the log ends at entry %d", stored.Seq, last.Seq)
	case stored.Seq < last.Seq || stored.Hash != last.Hash:
		return logError(MovedHead, "the head was moved: it names entry %d, the log ends at entry %d", stored.Seq, last.Seq)
	}
	return nil
}

// checkTruncated reports a checkpoint of more entries than the log holds.
func checkTruncated(checkpoints []api.Checkpoint, size uint64) error {
	for _, c := range checkpoints {
		if c.Size > size {
			return logError(Truncated, "the log was truncated: a checkpoint signed %d entries, the store holds %d", c.Size, size)
		}
	}
	return nil
}

// maxTreeCompare is how many stored hashes VerifyLog reads at once, at
// most what TreeHashes reads.
const maxTreeCompare = 200

// emptyRoot is the root of the empty tree, SHA-256 of nothing.
func emptyRoot() tlog.Hash {
	h, _ := tlog.TreeHash(0, nil)
	return h
}
