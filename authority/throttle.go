package authority

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority/api"
)

// throttle is the rule for failed code checks (spec/escrow-api.md
// section 5.4): after `after` failures, an owner's next check waits
// base, doubled with each further failure, at most max. A correct code
// resets the count. There is no lock: the right code always works in the
// end, and a 256-bit code gains nothing from one.
type throttle struct {
	after     int
	base, max time.Duration
}

func (t *throttle) defaults() {
	if t.after <= 0 {
		t.after = DefaultThrottleAfter
	}
	if t.base <= 0 {
		t.base = time.Minute
	}
	if t.max <= 0 {
		t.max = 24 * time.Hour
	}
	t.max = max(t.max, t.base)
}

// wait returns how long after its last failure an owner with failures
// failed checks must wait for its next check.
func (t *throttle) wait(failures int) time.Duration {
	if failures < t.after {
		return 0
	}
	d := t.base
	for range min(failures-t.after, 40) {
		if d >= t.max {
			break
		}
		d *= 2
	}
	return min(d, t.max)
}

// until returns when o's next code check may run (zero: now).
func (t *throttle) until(o Owner) time.Time {
	d := t.wait(o.Failures)
	if d == 0 || o.LastFailure.IsZero() {
		return time.Time{}
	}
	return o.LastFailure.Add(d)
}

type attemptDetail struct {
	Attempt int `json:"attempt"`
	// Throttled is set on a request refused without a check, and
	// RetryAfter says until when.
	Throttled  bool   `json:"throttled,omitempty"`
	RetryAfter string `json:"retry_after,omitempty"`
}

// checkThrottle refuses, with ErrThrottled and an audit entry, a check of
// o while its failures make it wait.
func (s *Service) checkThrottle(ctx context.Context, o Owner, actor keyblob.Fingerprint) error {
	until := s.throttle.until(o)
	now := s.now()
	if !now.Before(until) {
		return nil
	}
	e, err := s.entry(api.AuditCodeAttempt, o.ID, actor, [16]byte{},
		attemptDetail{Attempt: o.Failures, Throttled: true, RetryAfter: api.FormatTime(until.UTC())})
	if err != nil {
		return err
	}
	// An audited write that changes nothing but the Version; a lost race
	// only means another request was counted first.
	if _, err := s.store.UpdateOwner(ctx, o, e); err != nil && !errors.Is(err, ErrConflict) {
		return storeErr(err)
	}
	return &api.RetryError{Err: fmt.Errorf("%w until %s", api.ErrThrottled, api.FormatTime(until.UTC())), After: until.Sub(now)}
}

// countAttempt counts a code check of o by actor, holding a code-check
// slot: the owner as counted, or ErrThrottled if it must wait (counted
// by a concurrent check meanwhile).
func (s *Service) countAttempt(ctx context.Context, o Owner, actor keyblob.Fingerprint) (Owner, error) {
	for range casRetries {
		if err := s.checkThrottle(ctx, o, actor); err != nil {
			return o, err
		}
		o.Failures++
		o.LastFailure = s.now().UTC()
		e, err := s.entry(api.AuditCodeAttempt, o.ID, actor, [16]byte{}, attemptDetail{Attempt: o.Failures})
		if err != nil {
			return o, err
		}
		switch _, err = s.store.UpdateOwner(ctx, o, e); {
		case err == nil:
			o.Version++
			s.warnThrottled(o)
			return o, nil
		case !errors.Is(err, ErrConflict) && !errors.Is(err, api.ErrNotFound):
			return o, storeErr(err)
		}
		if o, err = s.store.Owner(ctx, o.ID); err != nil {
			return o, storeErr(err)
		}
	}
	return Owner{}, api.ErrStale
}

// warnThrottled logs at WARN the attempt after which o waits for the
// first time.
func (s *Service) warnThrottled(o Owner) {
	if o.Failures == s.throttle.after {
		s.log.Warn("owner throttled after failed recovery code checks", "owner", o.ID.String(),
			"failures", o.Failures, "next_check", api.FormatTime(s.throttle.until(o).UTC()))
	}
}

// refuseStranger refuses a recovery for an owner that does not exist
// without a code check, after as long as one takes, so that the answer
// does not tell whether the owner exists.
func (s *Service) refuseStranger(ctx context.Context) error {
	t := time.NewTimer(time.Duration(s.checkTime.Load()))
	defer t.Stop()
	select {
	case <-t.C:
		return api.ErrRecoveryRefused
	case <-ctx.Done():
		return storeErr(ctx.Err())
	}
}

// ResetThrottle sets owner's failed code checks to zero, as the operator
// (by fingerprint) asked, audited. It returns ErrNotFound for an unknown
// owner.
func (s *Service) ResetThrottle(ctx context.Context, owner, operator keyblob.Fingerprint) (Owner, error) {
	for range casRetries {
		o, err := s.store.Owner(ctx, owner)
		if err != nil {
			return o, storeErr(err)
		}
		prev := o.Failures
		o.Failures, o.LastFailure = 0, time.Time{}
		e, err := s.entry(api.AuditThrottleReset, o.ID, operator, [16]byte{}, attemptDetail{Attempt: prev})
		if err != nil {
			return o, err
		}
		switch _, err = s.store.UpdateOwner(ctx, o, e); {
		case err == nil:
			o.Version++
			return o, nil
		case !errors.Is(err, ErrConflict):
			return o, storeErr(err)
		}
	}
	return Owner{}, api.ErrStale
}
