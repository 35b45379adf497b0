package sqlstore

import (
	"context"
	"crypto/rand"
	"fmt"
	"maps"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/keyblob/keyblob/authority/api"
)

// The Merkle tree over the audit log (spec/escrow-api.md section 6.6):
// table tree holds the stored hashes of golang.org/x/mod/sumdb/tlog, by
// their StoredHashIndex, and audit_head its size and root. Both change
// only in the transaction that appends an entry, after the head's lock.

// head is audit_head's row.
type head struct {
	seq      int64
	hash     []byte
	treeSize int64
}

// edge is the right edge of the tree as last committed by this Store:
// the roots of the perfect subtrees a tree of size leaves is made of,
// which are the only stored hashes the next append reads. Stored hashes
// never change once committed, so the edge is good for as long as the
// tree still has size leaves (another instance may have appended since:
// then it is not used).
type edge struct {
	mu     sync.Mutex
	size   int64
	hashes map[int64]tlog.Hash
}

// seed returns a copy of the edge's hashes if the tree has size leaves.
func (g *edge) seed(size int64) map[int64]tlog.Hash {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[int64]tlog.Hash, len(g.hashes)+8)
	if g.hashes != nil && g.size == size {
		maps.Copy(out, g.hashes)
	}
	return out
}

// set keeps the edge of a tree just committed, unless a larger one is
// kept (appends committed together return in any order).
func (g *edge) set(size int64, hashes map[int64]tlog.Hash) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if hashes != nil && size > g.size {
		g.size, g.hashes = size, hashes
	}
}

// edgeIndexes returns the stored-hash indexes of the roots of the perfect
// subtrees a tree of n leaves is made of.
func edgeIndexes(n int64) []int64 {
	var out []int64
	for l := 62; l >= 0; l-- {
		if n>>l&1 == 1 {
			out = append(out, tlog.StoredHashIndex(l, n>>l-1))
		}
	}
	return out
}

// appendAudit appends e after the log's head, which the UPDATE locks
// until the transaction ends, and adds its leaf to the tree, reading the
// tree's edge from known (the hashes of the tree as it was, or none) and
// the store. It returns the new tree's edge.
func appendAudit(ctx context.Context, tx Tx, e api.AuditEntry, known *edge) (api.AuditEntry, map[int64]tlog.Hash, error) {
	var h head
	err := tx.QueryRow(ctx, `UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq - 1, hash, tree_size`).
		Scan(&h.seq, &h.hash, &h.treeSize)
	if err != nil {
		return e, nil, fmt.Errorf("reading the audit log's head: %w", err)
	}
	prev := api.AuditHead{Seq: uint64(h.seq)}
	if err := fixed(prev.Hash[:], h.hash, "audit head"); err != nil {
		return e, nil, err
	}
	if e, err = e.Chain(prev); err != nil {
		return e, nil, err
	}
	rand.Read(e.Salt[:])
	if _, err := tx.Exec(ctx, `INSERT INTO audit (seq, time, kind, owner, actor, ref, detail, prev, hash, salt)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		int64(e.Seq), nanos(e.Time), int64(e.Kind), e.Owner[:], e.Actor[:], e.Ref[:], text(e.Detail), e.Prev[:], e.Hash[:], e.Salt[:]); err != nil {
		return e, nil, err
	}
	r := &txHashes{ctx: ctx, q: tx, added: known.seed(h.treeSize)}
	if err := growTree(ctx, r, h.treeSize, e); err != nil {
		return e, nil, err
	}
	out := map[int64]tlog.Hash{}
	for _, idx := range edgeIndexes(int64(e.Seq)) {
		h, ok := r.added[idx] // TreeHash read them all
		if !ok {
			return e, nil, nil // no edge known: the next append reads it
		}
		out[idx] = h
	}
	return e, out, nil
}

// growTree adds to the tree, which holds size entries, the entries after
// them up to e, the one just appended, and stores the new size, root and
// head hash. The entries before e are there only in a log older than its
// tree (schema version 1).
func growTree(ctx context.Context, r *txHashes, size int64, e api.AuditEntry) error {
	for n := size; n < int64(e.Seq)-1; n++ {
		old, err := auditAt(ctx, r.q, uint64(n+1))
		if err != nil {
			return err
		}
		if err := r.addLeaf(n, &old); err != nil {
			return err
		}
	}
	if err := r.addLeaf(int64(e.Seq)-1, &e); err != nil {
		return err
	}
	root, err := tlog.TreeHash(int64(e.Seq), r)
	if err != nil {
		return err
	}
	_, err = r.q.Exec(ctx, `UPDATE audit_head SET hash = $1, tree_size = $2, root = $3 WHERE id = 1`,
		e.Hash[:], int64(e.Seq), root[:])
	return err
}

// auditAt reads the entry seq in the transaction.
func auditAt(ctx context.Context, q Querier, seq uint64) (api.AuditEntry, error) {
	e, err := scanAudit(q.QueryRow(ctx, `SELECT `+auditColumns+` FROM audit WHERE seq = $1`, int64(seq)))
	if err != nil {
		return e, fmt.Errorf("audit entry %d, to add to the tree: %w", seq, err)
	}
	return e, nil
}

// txHashes reads stored hashes in a transaction: those it added or read
// before from memory, the others from the store.
type txHashes struct {
	ctx   context.Context
	q     Querier
	added map[int64]tlog.Hash
}

// addLeaf stores the hashes that leaf n, entry e, adds to the tree.
func (r *txHashes) addLeaf(n int64, e *api.AuditEntry) error {
	hashes, err := tlog.StoredHashes(n, api.LeafData(e), r)
	if err != nil {
		return err
	}
	first := tlog.StoredHashIndex(0, n)
	args := make([]any, 0, 2*len(hashes))
	values := make([]string, len(hashes))
	for i, h := range hashes {
		r.added[first+int64(i)] = h
		args = append(args, first+int64(i), h[:])
		values[i] = fmt.Sprintf("($%d, $%d)", 2*i+1, 2*i+2)
	}
	_, err = r.q.Exec(r.ctx, `INSERT INTO tree (idx, hash) VALUES `+strings.Join(values, ", "), args...)
	return err
}

// ReadHashes implements tlog.HashReader.
func (r *txHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	var missing []int64
	for i, idx := range indexes {
		h, ok := r.added[idx]
		out[i] = h
		if !ok {
			missing = append(missing, idx)
		}
	}
	read, err := readHashes(r.ctx, r.q, missing)
	if err != nil {
		return nil, err
	}
	for i, idx := range indexes {
		if h, ok := read[idx]; ok {
			out[i] = h
			r.added[idx] = h // the tree's root reads them again
		}
	}
	return out, nil
}

// readHashes reads the stored hashes at indexes, all of which must exist.
func readHashes(ctx context.Context, q Querier, indexes []int64) (map[int64]tlog.Hash, error) {
	out := make(map[int64]tlog.Hash, len(indexes))
	if len(indexes) == 0 {
		return out, nil
	}
	args := make([]any, len(indexes))
	marks := make([]string, len(indexes))
	for i, idx := range indexes {
		args[i], marks[i] = idx, fmt.Sprintf("$%d", i+1)
	}
	rows, err := q.Query(ctx, `SELECT idx, hash FROM tree WHERE idx IN (`+strings.Join(marks, ", ")+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var idx int64
		var b []byte
		if err := rows.Scan(&idx, &b); err != nil {
			return nil, err
		}
		var h tlog.Hash
		if err := fixed(h[:], b, "tree hash"); err != nil {
			return nil, err
		}
		out[idx] = h
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, idx := range indexes {
		if _, ok := out[idx]; !ok {
			return nil, fmt.Errorf("%w: stored tree hash %d", api.ErrNotFound, idx)
		}
	}
	return out, nil
}

// TreeHashes returns the stored hashes at indexes, in their order.
func (s *Store) TreeHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	if len(indexes) > maxTreeRead {
		return nil, fmt.Errorf("%w: %d tree hashes in one read (at most %d)", api.ErrInvalid, len(indexes), maxTreeRead)
	}
	read, err := readHashes(ctx, s.db, indexes)
	if err != nil {
		return nil, err
	}
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		out[i] = read[idx]
	}
	return out, nil
}

// maxTreeRead bounds TreeHashes: a full tile's hashes, or a proof's.
const maxTreeRead = 1 << api.TileHeight

// AuditHead returns the log's head: its last entry and its tree.
func (s *Store) AuditHead(ctx context.Context) (api.AuditHead, error) {
	var seq, size int64
	var hash, root []byte
	err := s.db.QueryRow(ctx, `SELECT seq, hash, tree_size, root FROM audit_head WHERE id = 1`).Scan(&seq, &hash, &size, &root)
	if err != nil {
		return api.AuditHead{}, err
	}
	h := api.AuditHead{Seq: uint64(seq), TreeSize: uint64(size)}
	if err := firstError(fixed(h.Hash[:], hash, "audit head"), fixed(h.Root[:], root, "tree root")); err != nil {
		return h, err
	}
	if size == 0 {
		h.Root, _ = tlog.TreeHash(0, nil)
	}
	return h, nil
}
