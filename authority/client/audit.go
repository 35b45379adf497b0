package client

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority/api"
)

// AuditView is what Audit verified: every audit entry about Owner (its
// owner id) after a sequence number up to and including Through, each
// proved to be in the log of Checkpoint.
type AuditView struct {
	Owner      keyblob.Fingerprint
	Entries    []api.AuditEntry
	Through    uint64
	Checkpoint api.Checkpoint
}

// Audit returns every audit entry about id's owner whose Seq is greater
// than after (spec/escrow-api.md section 6.9). Each page is signed by
// the authority for this request, so nothing between the two can drop
// an entry or replay an older page; each entry is checked against its
// own hash and proved to be in a checkpoint consistent with the log the
// client saw. Through is where the next call's after should start.
func (c *Client) Audit(ctx context.Context, id *keyblob.Identity, after uint64) (AuditView, error) {
	v := AuditView{Through: after}
	for {
		out, auth, err := c.auditPage(ctx, id, v.Through)
		if err != nil {
			return v, err
		}
		es, claim, err := c.checkPage(ctx, out, auth, v.Through)
		if err != nil {
			return v, fmt.Errorf("the authority's audit page: %w", err)
		}
		if !v.Owner.IsZero() && v.Owner != claim.Owner {
			return v, fmt.Errorf("%w response from the authority: audit pages about two owners", keyblob.ErrMalformed)
		}
		v.Entries, v.Through, v.Checkpoint = append(v.Entries, es...), claim.Through, claim.Checkpoint
		v.Owner = claim.Owner
		if out.Next == nil {
			return v, nil
		}
		if claim.Through == claim.After {
			return v, fmt.Errorf("%w response from the authority: a next audit page without progress", keyblob.ErrMalformed)
		}
	}
}

// auditPage reads one page, and the signature headers it was asked with.
func (c *Client) auditPage(ctx context.Context, id *keyblob.Identity, after uint64) (*api.AuditListV1, api.Auth, error) {
	var out api.AuditListV1
	var sent api.Auth
	target := "/v1/audit?after=" + strconv.FormatUint(after, 10) + "&limit=" + strconv.Itoa(api.MaxPage)
	_, err := c.call(ctx, id, http.MethodGet, target, nil, &out, func(a *api.Auth) error {
		sent = *a
		return nil
	})
	return &out, sent, err
}

// checkPage verifies a page of audit entries asked for after after with
// auth: the page's checkpoint, the authority's signature of its claim,
// each entry's hash and its inclusion in the checkpoint.
func (c *Client) checkPage(ctx context.Context, out *api.AuditListV1, auth api.Auth, after uint64) ([]api.AuditEntry, api.PageClaim, error) {
	claim := api.PageClaim{Signer: auth.Signer, Nonce: auth.Nonce, After: after, Through: out.Through}
	es, sig, err := parsePage(out, &claim)
	if err != nil {
		return nil, claim, err
	}
	if claim.Checkpoint, err = c.Advance(ctx, []byte(out.Checkpoint)); err != nil {
		return nil, claim, err
	}
	if err := api.VerifyPage(c.authority, &claim, es, sig); err != nil {
		return nil, claim, err
	}
	return es, claim, verifyIncluded(claim.Checkpoint, es, out.Inclusion)
}

// parsePage decodes a page's entries, owner and signature.
func parsePage(out *api.AuditListV1, claim *api.PageClaim) ([]api.AuditEntry, []byte, error) {
	if len(out.Inclusion) != len(out.Entries) {
		return nil, nil, fmt.Errorf("%w: %d inclusion proofs for %d entries", keyblob.ErrMalformed, len(out.Inclusion), len(out.Entries))
	}
	owner, err := api.ParseFingerprint("owner", out.Owner)
	if err != nil {
		return nil, nil, err
	}
	claim.Owner = owner
	sig, err := api.DecodeBytes("signature", out.Signature, keyblob.MaxSignerKey)
	if err != nil {
		return nil, nil, err
	}
	es := make([]api.AuditEntry, 0, len(out.Entries))
	for _, v := range out.Entries {
		e, err := v.Parse()
		if err != nil {
			return nil, nil, err
		}
		if h, err := api.ChainHash(e.Prev, &e); err != nil || h != e.Hash {
			return nil, nil, fmt.Errorf("audit entry %d does not give its hash: %w", e.Seq, keyblob.ErrAuth)
		}
		es = append(es, e)
	}
	return es, sig, nil
}

// verifyIncluded checks each entry's inclusion proof in cp.
func verifyIncluded(cp api.Checkpoint, es []api.AuditEntry, proofs [][]string) error {
	for i := range es {
		proof, err := api.DecodeProof("inclusion proof", proofs[i])
		if err != nil {
			return err
		}
		if err := api.VerifyInclusion(cp, &es[i], proof); err != nil {
			return err
		}
	}
	return nil
}
