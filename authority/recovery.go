package authority

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"time"

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
	quorum, operators := s.requestPolicy(&r)
	st := RecoveryStatus{Recovery: r, ApprovalsRequired: quorum}
	switch {
	case r.State == RecoveryCompleted:
		st.State = "completed"
	case r.State == RecoveryCancelled:
		st.State = "cancelled"
	case !s.now().Before(r.Expires):
		st.State = "expired"
	case approvals(r, operators) >= quorum:
		st.State = "approved"
	default:
		st.State = "pending"
	}
	return st
}

// approvals counts the distinct operators of the request's policy that
// approved r.
func approvals(r Recovery, operators []keyblob.Fingerprint) int {
	seen := map[keyblob.Fingerprint]bool{}
	for _, a := range r.Approvals {
		if slices.Contains(operators, a.Operator) {
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

type requestDetail struct {
	To          string  `json:"to"`
	Serial      *string `json:"serial"`
	Completable string  `json:"completable"`
	Expires     string  `json:"expires"`
	Approvals   int     `json:"approvals_required"`
	Policy      uint64  `json:"policy"`
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
	if err := s.checkNewIdentity(ctx, r.Auth.Signer, in.Owner); err != nil {
		return RecoveryStatus{}, api.Receipt{}, err
	}
	code, err := api.OpenCode(s.id, in.SealedCode, api.PurposeRecovery, in.Owner, r.Auth.Signer, r.Auth.Nonce)
	if err != nil {
		return RecoveryStatus{}, api.Receipt{}, err
	}
	defer clear(code[:])
	o, err := s.checkedOwner(ctx, in.Owner, r.Auth.Signer, &code)
	if err != nil {
		return RecoveryStatus{}, api.Receipt{}, err
	}
	return s.openRecovery(ctx, o, in)
}

// checkNewIdentity is step 3 of section 7.7: the new identity's key must
// be bound to no owner, unless it is the current identity of the owner
// asked for (which recovers, for instance, the keys a recovery of one
// serial left behind).
func (s *Service) checkNewIdentity(ctx context.Context, signer, owner keyblob.Fingerprint) error {
	bound, err := s.store.Owner(ctx, signer)
	switch {
	case errors.Is(err, api.ErrNotFound):
		return nil
	case err != nil:
		return storeErr(err)
	case bound.Signer != signer:
		return api.ErrIdentityBound // a retired identity
	}
	target, err := s.store.Owner(ctx, owner)
	switch {
	case err == nil && target.ID == bound.ID:
		return nil
	case err != nil && !errors.Is(err, api.ErrNotFound):
		return storeErr(err)
	}
	return api.ErrIdentityBound
}

// checkedOwner checks code against the owner name's verifier (spec
// section 5.4): an unknown owner is refused after as long as a check
// takes, without one; a throttled owner is refused without a check; the
// attempt is counted only once a code-check slot is held, so that only
// checks that run count.
func (s *Service) checkedOwner(ctx context.Context, name, actor keyblob.Fingerprint, code *api.RecoveryCode) (Owner, error) {
	o, err := s.store.Owner(ctx, name)
	switch {
	case errors.Is(err, api.ErrNotFound):
		return o, s.refuseStranger(ctx)
	case err != nil:
		return o, storeErr(err)
	}
	if err := s.checkThrottle(ctx, o, actor); err != nil {
		return o, err
	}
	err = s.argon(ctx, func() error {
		var err error
		if o, err = s.countAttempt(ctx, o, actor); err != nil {
			return err
		}
		return s.checkOwnerCode(o, code)
	})
	return o, err
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
	p, err := s.Policy(ctx)
	if err != nil {
		return RecoveryStatus{}, api.Receipt{}, err
	}
	now := s.now().UTC()
	rec := Recovery{Owner: o.ID, OldSigner: o.Signer, To: in.To.String(), ToSigner: in.To.SigningFingerprint(),
		Serial: in.Serial, State: RecoveryPending, Created: now, Version: 1,
		Policy: p.Version, Quorum: p.Quorum, Operators: p.Operators}
	rec.Completable, rec.Expires = s.completableAt(now, &p)
	rand.Read(rec.ID[:])
	d := requestDetail{To: rec.To, Completable: api.FormatTime(rec.Completable), Expires: api.FormatTime(rec.Expires),
		Approvals: p.Quorum, Policy: p.Version}
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
		o.Failures, o.LastFailure = 0, time.Time{}
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
	case "completed", "expired", "cancelled":
		return api.ErrNotPending
	case "pending":
		return api.ErrApprovalPending
	}
	if now := s.now(); now.Before(rec.Completable) {
		return &api.RetryError{Err: fmt.Errorf("%w before %s: the owner can cancel it until then", api.ErrNotCompletable,
			api.FormatTime(rec.Completable)), After: rec.Completable.Sub(now)}
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
	o.Recipient, o.Signer, o.Verifier, o.Failures, o.LastFailure = rec.To, rec.ToSigner, verifier, 0, time.Time{}
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
	if _, ops := s.requestPolicy(&rec); !slices.Contains(ops, op) {
		return RecoveryStatus{}, api.Receipt{}, fmt.Errorf("%w: the signer is not an operator of the policy this request was made under", api.ErrApprovalRefused)
	}
	if err := s.mayApprove(ctx, rec, op); err != nil {
		return RecoveryStatus{}, api.Receipt{}, err
	}
	if st := s.status(rec).State; st == "completed" || st == "expired" || st == "cancelled" {
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

// CancelRecovery cancels the pending recovery request id of the owner
// whose current identity signed r (spec section 7.14): for good, audited.
// A request of another owner is ErrNotFound; one no longer pending is
// ErrNotPending.
func (s *Service) CancelRecovery(ctx context.Context, r *api.Request, id api.RequestID) (RecoveryStatus, api.Receipt, error) {
	o, _, err := s.currentOwner(ctx, r)
	if err != nil {
		return RecoveryStatus{}, api.Receipt{}, err
	}
	for range casRetries {
		rec, err := s.store.Recovery(ctx, id)
		switch {
		case errors.Is(err, api.ErrNotFound) || (err == nil && rec.Owner != o.ID):
			return RecoveryStatus{}, api.Receipt{}, api.ErrNotFound
		case err != nil:
			return RecoveryStatus{}, api.Receipt{}, storeErr(err)
		}
		if st := s.status(rec).State; st != "pending" && st != "approved" {
			return s.status(rec), api.Receipt{}, api.ErrNotPending
		}
		st, rc, err := s.cancel(ctx, rec, r.Auth.Signer)
		if !errors.Is(err, ErrConflict) {
			return st, rc, err
		}
	}
	return RecoveryStatus{}, api.Receipt{}, api.ErrStale
}

// cancel stores rec cancelled by actor; ErrConflict means a lost race.
func (s *Service) cancel(ctx context.Context, rec Recovery, actor keyblob.Fingerprint) (RecoveryStatus, api.Receipt, error) {
	rec.State, rec.Completed = RecoveryCancelled, s.now().UTC()
	e, err := s.entry(api.AuditCancel, rec.Owner, actor, rec.ID, struct{}{})
	if err != nil {
		return RecoveryStatus{}, api.Receipt{}, err
	}
	e, err = s.store.CancelRecovery(ctx, rec, e)
	switch {
	case errors.Is(err, ErrConflict):
		return RecoveryStatus{}, api.Receipt{}, ErrConflict
	case err != nil:
		return RecoveryStatus{}, api.Receipt{}, storeErr(err)
	}
	rec.Version++
	rc, err := s.receipt(ctx, e)
	return s.status(rec), rc, err
}
