package authority

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/keyblob/keyblob/authority/api"
)

// The transparency log's service side (spec/escrow-api.md section 6.6):
// checkpoints signed on demand (one signature per tree size), proofs and
// tiles computed from the store's tree.

// signedCheckpoint is the last checkpoint signed, kept so that every
// request at one tree size does not sign again.
type signedCheckpoint struct {
	mu   sync.Mutex
	c    api.Checkpoint
	note []byte
}

// hashes reads the store's tree through the service's cache.
func (s *Service) hashes(ctx context.Context) storeHashes {
	return storeHashes{ctx: ctx, store: s.store, cache: s.treeCache}
}

// Checkpoint returns the log's newest checkpoint and its signed note.
func (s *Service) Checkpoint(ctx context.Context) (api.Checkpoint, []byte, error) {
	h, err := s.store.AuditHead(ctx)
	if err != nil {
		return api.Checkpoint{}, nil, storeErr(err)
	}
	c := api.Checkpoint{Origin: api.Origin(s.fp), Size: h.TreeSize, Root: h.Root}
	s.signed.mu.Lock()
	defer s.signed.mu.Unlock()
	if s.signed.note != nil && s.signed.c == c {
		return c, s.signed.note, nil
	}
	note, err := api.SignCheckpoint(s.id, c)
	if err != nil {
		return c, nil, fmt.Errorf("%w: signing a checkpoint: %v", api.ErrInternal, err)
	}
	s.signed.c, s.signed.note = c, note
	return c, note, nil
}

// InclusionProof returns the proof that entry seq is in the tree of
// size entries, which must be at most the newest checkpoint's size.
func (s *Service) InclusionProof(ctx context.Context, seq, size uint64) (tlog.RecordProof, error) {
	if err := s.checkSizes(ctx, seq, size); err != nil || seq == 0 {
		return nil, errors.Join(err, api.ErrNotFound)
	}
	p, err := tlog.ProveRecord(int64(size), int64(seq-1), s.hashes(ctx))
	return p, storeErr(err)
}

// ConsistencyProof returns the proof that the tree of size entries
// extends the tree of its first old entries.
func (s *Service) ConsistencyProof(ctx context.Context, old, size uint64) (tlog.TreeProof, error) {
	if err := s.checkSizes(ctx, old, size); err != nil || old == 0 {
		// The empty tree is a prefix of every tree: nothing to prove.
		return nil, errors.Join(err, api.ErrNotFound)
	}
	p, err := tlog.ProveTree(int64(size), int64(old), s.hashes(ctx))
	return p, storeErr(err)
}

// checkSizes reports ErrNotFound unless low <= size <= the tree's size.
func (s *Service) checkSizes(ctx context.Context, low, size uint64) error {
	h, err := s.store.AuditHead(ctx)
	if err != nil {
		return storeErr(err)
	}
	if low > size || size > h.TreeSize {
		return fmt.Errorf("%w: the log holds %d entries", api.ErrNotFound, h.TreeSize)
	}
	return nil
}

// Tile returns the hash tile at path (C2SP tlog-tiles, "tile/8/L/N" or
// ".../N.p/W"), ErrNotFound for one the tree does not hold yet, for
// another height, and for entry bundles: entries are served only to
// their owners.
func (s *Service) Tile(ctx context.Context, path string) ([]byte, error) {
	t, err := tlog.ParseTilePath(path)
	if err != nil || t.H != api.TileHeight || t.L < 0 || t.Path() != path {
		return nil, api.ErrNotFound
	}
	h, err := s.store.AuditHead(ctx)
	if err != nil {
		return nil, storeErr(err)
	}
	if uint64(t.N*(1<<t.H)+int64(t.W)) > h.TreeSize>>(uint(t.L)*uint(t.H)) {
		return nil, api.ErrNotFound
	}
	data, err := tlog.ReadTileData(t, s.hashes(ctx))
	return data, storeErr(err)
}

// receipt signs e and adds the newest checkpoint and e's inclusion proof.
func (s *Service) receipt(ctx context.Context, e api.AuditEntry) (api.Receipt, error) {
	_, note, proof, err := s.included(ctx, e)
	if err != nil {
		return api.Receipt{}, err
	}
	r, err := api.SignReceipt(s.id, e, note, proof)
	if err != nil {
		return api.Receipt{}, fmt.Errorf("%w: signing a receipt: %v", api.ErrInternal, err)
	}
	return r, nil
}

// included returns the newest checkpoint and e's inclusion proof in it.
func (s *Service) included(ctx context.Context, e api.AuditEntry) (api.Checkpoint, []byte, tlog.RecordProof, error) {
	c, note, err := s.Checkpoint(ctx)
	if err != nil {
		return c, nil, nil, err
	}
	proof, err := s.proveIn(ctx, c, e.Seq)
	return c, note, proof, err
}

// proveIn returns the inclusion proof of entry seq in checkpoint c.
func (s *Service) proveIn(ctx context.Context, c api.Checkpoint, seq uint64) (tlog.RecordProof, error) {
	if seq == 0 || seq > c.Size {
		return nil, fmt.Errorf("%w: entry %d is not in the tree of %d entries", api.ErrInternal, seq, c.Size)
	}
	p, err := tlog.ProveRecord(int64(c.Size), int64(seq-1), s.hashes(ctx))
	return p, storeErr(err)
}

// AuditPage is a page of an owner's audit entries with the signed
// checkpoint of a log that includes them, their inclusion proofs in
// order, and the authority's signature of the page's claim.
type AuditPage struct {
	Entries    []api.AuditEntry
	Checkpoint []byte
	Inclusion  []tlog.RecordProof
	Claim      api.PageClaim
	Signature  []byte
	// More is true when entries after Claim.Through may follow.
	More bool
}

// page makes the page of owner's entries after after for the request r:
// the checkpoint is read first and the entries it does not hold are left
// for a later page, so that the page is complete through its Through.
func (s *Service) page(ctx context.Context, r *api.Request, owner Owner, after uint64, limit int) (AuditPage, error) {
	c, note, err := s.Checkpoint(ctx)
	if err != nil {
		return AuditPage{}, err
	}
	es, err := s.store.Audit(ctx, owner.ID, after, limit)
	if err != nil {
		return AuditPage{}, storeErr(err)
	}
	page := AuditPage{Checkpoint: note, Claim: api.PageClaim{Signer: r.Auth.Signer, Nonce: r.Auth.Nonce,
		Owner: owner.ID, After: after, Through: max(after, c.Size), Checkpoint: c}}
	page.Entries, page.More = held(es, c.Size, limit)
	if page.More {
		page.Claim.Through = page.Entries[len(page.Entries)-1].Seq
	}
	if err := s.prove(ctx, &page); err != nil {
		return AuditPage{}, err
	}
	return page, s.signPage(&page)
}

// held returns the entries of es in a tree of size entries, and whether
// more may follow them there (es was a full page, all held).
func held(es []api.AuditEntry, size uint64, limit int) ([]api.AuditEntry, bool) {
	for i, e := range es {
		if e.Seq > size {
			return es[:i], false
		}
	}
	return es, len(es) > 0 && len(es) >= limit
}

// prove adds the inclusion proof of each entry of page.
func (s *Service) prove(ctx context.Context, page *AuditPage) (err error) {
	page.Inclusion = make([]tlog.RecordProof, len(page.Entries))
	for i, e := range page.Entries {
		if page.Inclusion[i], err = s.proveIn(ctx, page.Claim.Checkpoint, e.Seq); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) signPage(page *AuditPage) error {
	sig, err := api.SignPage(s.id, &page.Claim, page.Entries)
	if err != nil {
		return fmt.Errorf("%w: signing an audit page: %v", api.ErrInternal, err)
	}
	page.Signature = sig
	return nil
}
