package authority

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority/api"
)

// marshalDetail encodes an audit detail object without HTML escaping.
func marshalDetail(v any) (string, error) {
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(sb.String(), "\n"), nil
}

// Enroll registers the identity to as a new owner (spec section 7.3),
// with the recovery code sealed (purpose PurposeEnroll) in sealed. r must
// be signed by to's signature key. It returns ErrUnusableIdentity,
// ErrUnauthenticated, ErrBadSealedCode or ErrIdentityBound.
func (s *Service) Enroll(ctx context.Context, r *api.Request, to *keyblob.Recipient, sealed []byte) (Owner, api.Receipt, error) {
	if err := s.checkSealedSize(sealed); err != nil {
		return Owner{}, api.Receipt{}, err
	}
	if !to.CanVerify() {
		return Owner{}, api.Receipt{}, fmt.Errorf("%w: the enrolling identity has no signature key", api.ErrUnusableIdentity)
	}
	if err := s.authenticate(ctx, r, to); err != nil {
		return Owner{}, api.Receipt{}, err
	}
	fp := to.SigningFingerprint()
	verifier, err := s.verifierFor(ctx, sealed, api.PurposeEnroll, fp, fp, r.Auth.Nonce)
	if err != nil {
		return Owner{}, api.Receipt{}, err
	}
	o := Owner{ID: fp, Recipient: to.String(), Signer: fp, Verifier: verifier, Created: s.now().UTC()}
	e, err := s.entry(api.AuditEnroll, fp, fp, [16]byte{}, struct {
		Recipient string `json:"recipient"`
	}{o.Recipient})
	if err != nil {
		return Owner{}, api.Receipt{}, err
	}
	e, err = s.store.CreateOwner(ctx, o, e)
	switch {
	case errors.Is(err, ErrExists):
		return Owner{}, api.Receipt{}, api.ErrIdentityBound
	case err != nil:
		return Owner{}, api.Receipt{}, storeErr(err)
	}
	o.Version = 1
	rc, err := s.receipt(ctx, e)
	return o, rc, err
}

// verifierFor opens a sealed code and computes its verifier for owner.
func (s *Service) verifierFor(ctx context.Context, sealed []byte, p api.CodePurpose, owner, signer keyblob.Fingerprint, nonce [16]byte) ([]byte, error) {
	code, err := api.OpenCode(s.id, sealed, p, owner, signer, nonce)
	if err != nil {
		return nil, err
	}
	defer clear(code[:])
	var v []byte
	err = s.argon(ctx, func() (err error) {
		v, err = newVerifier(s.params, owner, &code)
		return err
	})
	return v, err
}

// Deposit stores blob for the signer's owner (spec section 7.4). It
// returns the deposit, its receipt, and whether it was stored now (false:
// the owner already had a deposit of that serial, returned unchanged with
// its original receipt), and whether the owner is throttled. It returns ErrUnauthenticated, ErrWrongRecipient
// or ErrBadBlobSignature.
//
// The request's nonce is used up in the deposit's own transaction
// (Store.PutDeposit), so that a new deposit is one commit; on every other
// outcome it is used up on its own, so that a replayed request is
// ErrReplay whatever became of the first.
func (s *Service) Deposit(ctx context.Context, r *api.Request, blob *keyblob.KeyBlob) (DepositResult, error) {
	o, key, err := s.signingOwner(ctx, r)
	if err != nil {
		return DepositResult{}, err
	}
	d, rc, created, err := s.deposit(ctx, r, o, key, blob)
	res := DepositResult{Deposit: d, Receipt: rc, Created: created}
	if until := s.throttle.until(o); s.now().Before(until) {
		res.ThrottledUntil = until.UTC()
	}
	return res, err
}

// DepositResult is what Deposit did: the deposit, its receipt, whether it
// was stored now, and, if wrong recovery codes made the owner's code
// checks wait (section 5.4), until when: the owner is told.
type DepositResult struct {
	Deposit        Deposit
	Receipt        api.Receipt
	Created        bool
	ThrottledUntil time.Time
}

// deposit is Deposit once the owner o, whose identity is key, is known.
func (s *Service) deposit(ctx context.Context, r *api.Request, o Owner, key *keyblob.Recipient, blob *keyblob.KeyBlob) (Deposit, api.Receipt, bool, error) {
	d, e, err := s.newDeposit(o, key, blob)
	if err != nil {
		return Deposit{}, api.Receipt{}, false, s.failAfterNonce(ctx, r.Auth, err)
	}
	e, err = s.store.PutDeposit(ctx, nonce(r.Auth), d, e)
	switch {
	case errors.Is(err, ErrExists):
		if err := s.useNonce(ctx, r.Auth); err != nil {
			return Deposit{}, api.Receipt{}, false, err
		}
		return s.existingDeposit(ctx, o.ID, d.Serial)
	case errors.Is(err, ErrConflict), errors.Is(err, api.ErrNotFound):
		// Re-bound meanwhile.
		return Deposit{}, api.Receipt{}, false, s.failAfterNonce(ctx, r.Auth, api.ErrUnauthenticated)
	case err != nil:
		return Deposit{}, api.Receipt{}, false, nonceErr(err)
	}
	d.Seq = e.Seq
	rc, err := s.receipt(ctx, e)
	return d, rc, true, err
}

// newDeposit checks blob for owner o, whose current identity is key,
// and returns its deposit and audit entry (spec section 7.4 steps 3 and
// 4).
func (s *Service) newDeposit(o Owner, key *keyblob.Recipient, blob *keyblob.KeyBlob) (Deposit, api.AuditEntry, error) {
	if blob.Recipient() != s.fp {
		return Deposit{}, api.AuditEntry{}, api.ErrWrongRecipient
	}
	if err := blob.Verify(key); err != nil {
		return Deposit{}, api.AuditEntry{}, api.ErrBadBlobSignature
	}
	raw := blob.Marshal()
	d := Deposit{Owner: o.ID, Serial: blob.Serial(), Description: blob.Description(), Blob: raw,
		Signer: o.Signer, Created: blob.Created().UTC(), Deposited: s.now().UTC()}
	h := sha256.Sum256(raw)
	e, err := s.entry(api.AuditDeposit, o.ID, o.Signer, d.Serial, api.DepositDetail{
		Serial: d.Serial.String(), BlobSHA256: api.EncodeBytes(h[:]), Description: d.Description, Created: api.FormatTime(d.Created)})
	return d, e, err
}

// existingDeposit returns a deposit with the receipt of its entry.
func (s *Service) existingDeposit(ctx context.Context, owner keyblob.Fingerprint, serial keyblob.Serial) (Deposit, api.Receipt, bool, error) {
	d, err := s.store.Deposit(ctx, owner, serial)
	if err != nil {
		return Deposit{}, api.Receipt{}, false, storeErr(err)
	}
	entries, err := s.store.Audit(ctx, owner, d.Seq-1, 1)
	if err != nil {
		return Deposit{}, api.Receipt{}, false, storeErr(err)
	}
	if len(entries) != 1 || entries[0].Seq != d.Seq || entries[0].Kind != api.AuditDeposit {
		return Deposit{}, api.Receipt{}, false, fmt.Errorf("%w: the deposit entry %d is missing", api.ErrInternal, d.Seq)
	}
	rc, err := s.receipt(ctx, entries[0])
	return d, rc, false, err
}

// Deposits lists a page of the signer's owner's deposits (spec section
// 7.5), whose Seq is greater than after.
func (s *Service) Deposits(ctx context.Context, r *api.Request, after uint64, limit int) ([]Deposit, error) {
	o, _, err := s.currentOwner(ctx, r)
	if err != nil {
		return nil, err
	}
	ds, err := s.store.Deposits(ctx, o.ID, after, limit)
	return ds, storeErr(err)
}

// Audit lists a page of the audit entries about the signer's owner (spec
// section 7.6).
func (s *Service) Audit(ctx context.Context, r *api.Request, after uint64, limit int) (AuditPage, error) {
	o, _, err := s.currentOwner(ctx, r)
	if err != nil {
		return AuditPage{}, err
	}
	return s.page(ctx, r, o, after, limit)
}
