package authority

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority/api"
)

// The recovery policy (spec/escrow-api.md section 7.15) is stored with
// the authority's records, every version kept and each change audited,
// so that every instance on one database applies the same one, a restart
// with other flags cannot change it, and each request keeps the policy it
// was made under.

// ErrPolicyDiffers is AdoptPolicy's refusal of a Config whose policy is
// not the stored one.
var ErrPolicyDiffers = errors.New("the policy given differs from the one stored with the authority")

type policyDetail struct {
	Version   uint64   `json:"version"`
	Quorum    int      `json:"quorum"`
	Operators []string `json:"operators"`
	Delay     string   `json:"delay"`
}

// ConfigPolicy is the policy of the Service's Config (Version 0): its
// Quorum, its Operators' signature keys and its RecoveryDelay.
func (s *Service) ConfigPolicy() Policy {
	p := Policy{Quorum: s.quorum, Delay: s.delay}
	for fp := range s.operators {
		p.Operators = append(p.Operators, fp)
	}
	slices.SortFunc(p.Operators, func(a, b keyblob.Fingerprint) int { return bytes.Compare(a[:], b[:]) })
	return p
}

// Policy returns the policy in force: the newest stored, or, when none
// is, the Config's (Version 0).
func (s *Service) Policy(ctx context.Context) (Policy, error) {
	p, err := s.store.Policy(ctx, 0)
	switch {
	case errors.Is(err, api.ErrNotFound):
		return s.ConfigPolicy(), nil
	case err != nil:
		return p, storeErr(err)
	}
	return p, nil
}

// AdoptPolicy makes the Config's policy the one in force when none is
// stored yet (storing it, audited), and otherwise checks the stored one:
// if given is true (the Config's policy was asked for explicitly) it must
// be the same, and in any case the Service must hold every operator key
// it names. It returns the policy in force. The Service's Config stays
// as given: every request reads the policy in force from the store.
func (s *Service) AdoptPolicy(ctx context.Context, given bool) (Policy, error) {
	want := s.ConfigPolicy()
	stored, err := s.store.Policy(ctx, 0)
	switch {
	case errors.Is(err, api.ErrNotFound):
		return s.SetPolicy(ctx, want, s.fp)
	case err != nil:
		return stored, storeErr(err)
	case given && !stored.Same(&want):
		return stored, fmt.Errorf("%w: it is %s", ErrPolicyDiffers, describePolicy(&stored))
	}
	for _, op := range stored.Operators {
		if s.operators[op] == nil {
			return stored, fmt.Errorf("%w: operator %s of %s is not among the operators' keys given",
				ErrPolicyDiffers, op, describePolicy(&stored))
		}
	}
	return stored, nil
}

// describePolicy says what p requires, for messages.
func describePolicy(p *Policy) string {
	return fmt.Sprintf("policy version %d of %s: %d approval(s) among %d operator(s), a recovery delay of %v",
		p.Version, api.FormatTime(p.Set), p.Quorum, len(p.Operators), p.Delay)
}

// SetPolicy stores p (its version and time are set here) as the newest
// policy, audited with actor, and returns it as stored. The Service must
// hold the key of every operator it names.
func (s *Service) SetPolicy(ctx context.Context, p Policy, actor keyblob.Fingerprint) (Policy, error) {
	for _, op := range p.Operators {
		if s.operators[op] == nil {
			return p, fmt.Errorf("operator %s: no key given for it", op)
		}
	}
	for range casRetries {
		newest, err := s.store.Policy(ctx, 0)
		switch {
		case errors.Is(err, api.ErrNotFound):
		case err != nil:
			return p, storeErr(err)
		}
		p.Version, p.Set = newest.Version+1, s.now().UTC()
		e, err := s.entry(api.AuditPolicy, s.fp, actor, [16]byte{}, policyV1(&p))
		if err != nil {
			return p, err
		}
		switch _, err = s.store.SetPolicy(ctx, p, e); {
		case err == nil:
			return p, nil
		case !errors.Is(err, ErrConflict):
			return p, storeErr(err)
		}
	}
	return p, api.ErrStale
}

func policyV1(p *Policy) policyDetail {
	d := policyDetail{Version: p.Version, Quorum: p.Quorum, Operators: []string{}, Delay: p.Delay.String()}
	for _, op := range p.Operators {
		d.Operators = append(d.Operators, op.String())
	}
	return d
}

// requestPolicy is what completes r: the quorum and operators it
// recorded, or, for a request made before policies were stored, those of
// the Config.
func (s *Service) requestPolicy(r *Recovery) (int, []keyblob.Fingerprint) {
	if r.Policy == 0 {
		p := s.ConfigPolicy()
		return p.Quorum, p.Operators
	}
	return r.Quorum, r.Operators
}

// completableAt is when a request made now under p can be completed, and
// when it expires.
func (s *Service) completableAt(now time.Time, p *Policy) (time.Time, time.Time) {
	return now.Add(p.Delay), now.Add(p.Delay + s.ttl)
}
