package authority

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority/api"
)

// RecoveryStatus is a recovery request with what the service computes
// when it reports it: its state ("pending", "approved", "completed" or
// "expired") and the approvals it needs.
type RecoveryStatus struct {
	Recovery
	State             string
	ApprovalsRequired int
}

func (s *Service) status(r Recovery) RecoveryStatus {
	st := RecoveryStatus{Recovery: r, ApprovalsRequired: s.quorum}
	switch {
	case r.State == RecoveryCompleted:
		st.State = "completed"
	case !s.now().Before(r.Expires):
		st.State = "expired"
	case s.approvals(r) >= s.quorum:
		st.State = "approved"
	default:
		st.State = "pending"
	}
	return st
}

// approvals counts the distinct current operators that approved r.
func (s *Service) approvals(r Recovery) int {
	seen := map[keyblob.Fingerprint]bool{}
	for _, a := range r.Approvals {
		if s.operators[a.Operator] != nil {
			seen[a.Operator] = true
		}
	}
	return len(seen)
}

// RecoveryInput is the body of a recovery request (spec section 7.7).
type RecoveryInput struct {
	Owner      keyblob.Fingerprint
	To         *keyblob.Recipient
	Serial     *keyblob.Serial
	SealedCode []byte
}

type attemptDetail struct {
	Attempt int `json:"attempt"`
}

type requestDetail struct {
	To      string  `json:"to"`
	Serial  *string `json:"serial"`
	Expires string  `json:"expires"`
}

// RequestRecovery checks an owner's recovery code and opens a recovery
// request to in.To (spec section 7.7), signed by in.To. Unknown owner,
// locked owner and wrong code are all ErrRecoveryRefused.
func (s *Service) RequestRecovery(ctx context.Context, r *api.Request, in RecoveryInput) (RecoveryStatus, api.Receipt, error) {
	if err := s.checkSealedSize(in.SealedCode); err != nil {
		return RecoveryStatus{}, api.Receipt{}, err
	}
	if !in.To.CanVerify() || !in.To.CanExchange() {
		return RecoveryStatus{}, api.Receipt{}, fmt.Errorf("%w: the new identity needs an exchange key and a signature key", api.ErrUnusableIdentity)
	}
	if err := s.authenticate(ctx, r, in.To); err != nil {
		return RecoveryStatus{}, api.Receipt{}, err
	}
	switch _, err := s.store.Owner(ctx, r.Auth.Signer); {
	case err == nil:
		return RecoveryStatus{}, api.Receipt{}, api.ErrIdentityBound
	case !errors.Is(err, api.ErrNotFound):
		return RecoveryStatus{}, api.Receipt{}, storeErr(err)
	}
	code, err := api.OpenCode(s.id, in.SealedCode, api.PurposeRecovery, in.Owner, r.Auth.Signer, r.Auth.Nonce)
	if err != nil {
		return RecoveryStatus{}, api.Receipt{}, err
	}
	defer clear(code[:])
	o, err := s.countAttempt(ctx, in.Owner, r.Auth.Signer)
	if err != nil {
		return RecoveryStatus{}, api.Receipt{}, err
	}
	if err := s.argon(ctx, func() error { return s.checkOwnerCode(o, &code) }); err != nil {
		return RecoveryStatus{}, api.Receipt{}, err
	}
	return s.openRecovery(ctx, o, in)
}

// countAttempt is steps 5 and 6: the owner, unless locked, with its
// attempt counted.
func (s *Service) countAttempt(ctx context.Context, name, actor keyblob.Fingerprint) (Owner, error) {
	for range casRetries {
		o, err := s.store.Owner(ctx, name)
		if err != nil && !errors.Is(err, api.ErrNotFound) {
			return o, storeErr(err)
		}
		if err != nil || o.Failures >= MaxFailures {
			return o, s.refuse(ctx)
		}
		o.Failures++
		e, err := s.entry(api.AuditCodeAttempt, o.ID, actor, [16]byte{}, attemptDetail{o.Failures})
		if err != nil {
			return o, err
		}
		switch _, err = s.store.UpdateOwner(ctx, o, e); {
		case err == nil:
			o.Version++
			return o, nil
		case !errors.Is(err, ErrConflict) && !errors.Is(err, api.ErrNotFound):
			return o, storeErr(err)
		}
	}
	return Owner{}, api.ErrStale
}

// refuse spends an Argon2id computation on the dummy verifier, so that a
// refusal without a check takes as long as one with it.
func (s *Service) refuse(ctx context.Context) error {
	var zero api.RecoveryCode
	err := s.argon(ctx, func() error {
		_, err := checkCode(s.dummy, keyblob.Fingerprint{}, &zero)
		return err
	})
	if errors.Is(err, api.ErrUnavailable) {
		return err
	}
	return api.ErrRecoveryRefused
}

func (s *Service) checkOwnerCode(o Owner, code *api.RecoveryCode) error {
	ok, err := checkCode(o.Verifier, o.ID, code)
	switch {
	case err != nil:
		return fmt.Errorf("%w: owner's verifier: %v", api.ErrInternal, err)
	case !ok:
		return api.ErrRecoveryRefused
	}
	return nil
}

// openRecovery is step 8: the request created and the count reset.
func (s *Service) openRecovery(ctx context.Context, o Owner, in RecoveryInput) (RecoveryStatus, api.Receipt, error) {
	now := s.now().UTC()
	rec := Recovery{Owner: o.ID, OldSigner: o.Signer, To: in.To.String(), ToSigner: in.To.SigningFingerprint(),
		Serial: in.Serial, State: RecoveryPending, Created: now, Expires: now.Add(s.ttl), Version: 1}
	rand.Read(rec.ID[:])
	d := requestDetail{To: rec.To, Expires: api.FormatTime(rec.Expires)}
	if in.Serial != nil {
		str := in.Serial.String()
		d.Serial = &str
	}
	verifier := o.Verifier
	for range casRetries {
		e, err := s.entry(api.AuditRecoveryRequest, o.ID, rec.ToSigner, rec.ID, d)
		if err != nil {
			return RecoveryStatus{}, api.Receipt{}, err
		}
		o.Failures = 0
		e, err = s.store.CreateRecovery(ctx, rec, o, e)
		switch {
		case err == nil:
			rc, err := s.receipt(ctx, e)
			return s.status(rec), rc, err
		case !errors.Is(err, ErrConflict):
			return RecoveryStatus{}, api.Receipt{}, storeErr(err)
		}
		if o, err = s.store.Owner(ctx, o.ID); err != nil {
			return RecoveryStatus{}, api.Receipt{}, storeErr(err)
		}
		if !hmac.Equal(o.Verifier, verifier) || o.Signer != rec.OldSigner {
			return RecoveryStatus{}, api.Receipt{}, api.ErrStale
		}
	}
	return RecoveryStatus{}, api.Receipt{}, api.ErrStale
}

// ownRecovery finds recovery request id for its new identity, the
// signer of r: every failure to find it or to authenticate against it is
// ErrNotFound (spec section 7.8), then the time and nonce are checked.
func (s *Service) ownRecovery(ctx context.Context, r *api.Request, id api.RequestID) (Recovery, *keyblob.Recipient, error) {
	rec, err := s.store.Recovery(ctx, id)
	switch {
	case errors.Is(err, api.ErrNotFound):
		return rec, nil, api.ErrNotFound
	case err != nil:
		return rec, nil, storeErr(err)
	case r.Auth == nil || r.Auth.Signer != rec.ToSigner:
		return rec, nil, api.ErrNotFound
	}
	to, err := s.recipients.parse(rec.To)
	if err != nil {
		return rec, nil, fmt.Errorf("%w: stored recipient of a request: %v", api.ErrInternal, err)
	}
	if s.verify(r, to) != nil {
		return rec, nil, api.ErrNotFound
	}
	return rec, to, s.fresh(ctx, r.Auth)
}

// Recovery shows a recovery request (spec section 7.8) to its new
// identity or to an operator.
func (s *Service) Recovery(ctx context.Context, r *api.Request, id api.RequestID) (RecoveryStatus, error) {
	if r.Auth != nil && s.operators[r.Auth.Signer] != nil {
		if err := s.authenticate(ctx, r, s.operators[r.Auth.Signer]); err != nil {
			return RecoveryStatus{}, err
		}
		rec, err := s.store.Recovery(ctx, id)
		if err != nil && !errors.Is(err, api.ErrNotFound) {
			err = storeErr(err)
		}
		return s.status(rec), err
	}
	rec, _, err := s.ownRecovery(ctx, r, id)
	return s.status(rec), err
}

type recoveryDetail struct {
	OldSigner string `json:"old_signer"`
	NewSigner string `json:"new_signer"`
	To        string `json:"to"`
}

// CompleteRecovery binds the request's owner to its new identity and
// replaces its recovery code with the one sealed (PurposeNewCode) in
// sealed (spec section 7.9). It returns the request, the owner and the
// receipt, or ErrNotFound, ErrNotPending, ErrApprovalPending,
// ErrBadSealedCode, ErrStale or ErrIdentityBound.
func (s *Service) CompleteRecovery(ctx context.Context, r *api.Request, id api.RequestID, sealed []byte) (RecoveryStatus, Owner, api.Receipt, error) {
	if err := s.checkSealedSize(sealed); err != nil {
		return RecoveryStatus{}, Owner{}, api.Receipt{}, err
	}
	rec, _, err := s.ownRecovery(ctx, r, id)
	if err != nil {
		return RecoveryStatus{}, Owner{}, api.Receipt{}, err
	}
	var verifier []byte
	for range casRetries {
		if err := s.completable(rec); err != nil {
			return RecoveryStatus{}, Owner{}, api.Receipt{}, err
		}
		if verifier == nil {
			if verifier, err = s.verifierFor(ctx, sealed, api.PurposeNewCode, rec.Owner, r.Auth.Signer, r.Auth.Nonce); err != nil {
				return RecoveryStatus{}, Owner{}, api.Receipt{}, err
			}
		}
		st, o, rc, err := s.complete(ctx, rec, verifier)
		if !errors.Is(err, ErrConflict) {
			return st, o, rc, err
		}
		if rec, err = s.store.Recovery(ctx, id); err != nil {
			return RecoveryStatus{}, Owner{}, api.Receipt{}, storeErr(err)
		}
	}
	return RecoveryStatus{}, Owner{}, api.Receipt{}, api.ErrStale
}

func (s *Service) completable(rec Recovery) error {
	switch st := s.status(rec); st.State {
	case "completed", "expired":
		return api.ErrNotPending
	case "pending":
		return api.ErrApprovalPending
	}
	return nil
}

// complete is steps 5 and 6 of section 7.9; ErrConflict means a lost race.
func (s *Service) complete(ctx context.Context, rec Recovery, verifier []byte) (RecoveryStatus, Owner, api.Receipt, error) {
	o, err := s.store.Owner(ctx, rec.Owner)
	if err != nil {
		return RecoveryStatus{}, Owner{}, api.Receipt{}, storeErr(err)
	}
	if o.Signer != rec.OldSigner {
		return RecoveryStatus{}, Owner{}, api.Receipt{}, api.ErrStale
	}
	o.Recipient, o.Signer, o.Verifier, o.Failures = rec.To, rec.ToSigner, verifier, 0
	rec.State, rec.Completed = RecoveryCompleted, s.now().UTC()
	e, err := s.entry(api.AuditRecovery, o.ID, rec.ToSigner, rec.ID, recoveryDetail{
		OldSigner: rec.OldSigner.String(), NewSigner: rec.ToSigner.String(), To: rec.To})
	if err != nil {
		return RecoveryStatus{}, Owner{}, api.Receipt{}, err
	}
	e, err = s.store.CompleteRecovery(ctx, rec, o, e)
	switch {
	case errors.Is(err, ErrConflict):
		return RecoveryStatus{}, Owner{}, api.Receipt{}, ErrConflict
	case errors.Is(err, ErrExists):
		return RecoveryStatus{}, Owner{}, api.Receipt{}, api.ErrIdentityBound
	case err != nil:
		return RecoveryStatus{}, Owner{}, api.Receipt{}, storeErr(err)
	}
	rec.Version++
	o.Version++
	rc, err := s.receipt(ctx, e)
	return s.status(rec), o, rc, err
}

type approvalDetail struct {
	Approvals int `json:"approvals"`
}

// Approve records an operator's approval of request id (spec section
// 7.10). It returns ErrUnauthenticated, ErrApprovalRefused, ErrNotFound,
// ErrNotPending or ErrAlreadyApproved.
func (s *Service) Approve(ctx context.Context, r *api.Request, id api.RequestID) (RecoveryStatus, api.Receipt, error) {
	if err := s.authenticateApprover(ctx, r); err != nil {
		return RecoveryStatus{}, api.Receipt{}, err
	}
	op := r.Auth.Signer
	rec, err := s.store.Recovery(ctx, id)
	switch {
	case errors.Is(err, api.ErrNotFound):
		return RecoveryStatus{}, api.Receipt{}, api.ErrNotFound
	case err != nil:
		return RecoveryStatus{}, api.Receipt{}, storeErr(err)
	}
	if err := s.mayApprove(ctx, rec, op); err != nil {
		return RecoveryStatus{}, api.Receipt{}, err
	}
	if st := s.status(rec).State; st == "completed" || st == "expired" {
		return RecoveryStatus{}, api.Receipt{}, api.ErrNotPending
	}
	a := Approval{Operator: op, Time: s.now().UTC()}
	e, err := s.entry(api.AuditApproval, rec.Owner, op, rec.ID, approvalDetail{len(rec.Approvals) + 1})
	if err != nil {
		return RecoveryStatus{}, api.Receipt{}, err
	}
	e, err = s.store.AddApproval(ctx, id, a, e)
	switch {
	case errors.Is(err, ErrExists):
		return RecoveryStatus{}, api.Receipt{}, api.ErrAlreadyApproved
	case errors.Is(err, ErrConflict), errors.Is(err, api.ErrNotFound):
		return RecoveryStatus{}, api.Receipt{}, api.ErrNotPending
	case err != nil:
		return RecoveryStatus{}, api.Receipt{}, storeErr(err)
	}
	rec.Approvals = append(rec.Approvals, a)
	rc, err := s.receipt(ctx, e)
	return s.status(rec), rc, err
}

// authenticateApprover resolves the signer as an operator or an owner's
// current identity, checks the request, and refuses a non-operator.
func (s *Service) authenticateApprover(ctx context.Context, r *api.Request) error {
	if r.Auth == nil {
		return api.ErrUnauthenticated
	}
	if op := s.operators[r.Auth.Signer]; op != nil {
		return s.authenticate(ctx, r, op)
	}
	if _, _, err := s.currentOwner(ctx, r); err != nil {
		return err
	}
	return fmt.Errorf("%w: the signer is not an operator", api.ErrApprovalRefused)
}

// mayApprove refuses an operator who is the request's new identity or
// was ever bound to its owner.
func (s *Service) mayApprove(ctx context.Context, rec Recovery, op keyblob.Fingerprint) error {
	if op == rec.ToSigner {
		return fmt.Errorf("%w: no one approves their own recovery", api.ErrApprovalRefused)
	}
	o, err := s.store.Owner(ctx, op)
	switch {
	case err == nil && o.ID == rec.Owner:
		return fmt.Errorf("%w: no one approves their own recovery", api.ErrApprovalRefused)
	case err != nil && !errors.Is(err, api.ErrNotFound):
		return storeErr(err)
	}
	return nil
}
