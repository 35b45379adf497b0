package storetest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority"
	"github.com/keyblob/keyblob/authority/api"
)

// testPolicies stores policy versions: none at first, each next version
// once (a repeated or skipped one is ErrConflict), every version kept and
// the newest returned for 0, an invalid one refused.
func testPolicies(t *testing.T, e *env) {
	ctx := t.Context()
	_, err := e.s.Policy(ctx, 0)
	is(t, "Policy before any", err, api.ErrNotFound)
	ops := []keyblob.Fingerprint{fp(), fp(), fp()}
	slices.SortFunc(ops, func(a, b keyblob.Fingerprint) int { return bytes.Compare(a[:], b[:]) })
	authorityFP := fp()
	set := func(what string, p authority.Policy, want error) {
		t.Helper()
		_, err := e.s.SetPolicy(ctx, p, entry(api.AuditPolicy, authorityFP, `{}`))
		is(t, what, err, want)
	}
	one := authority.Policy{Version: 1, Quorum: 2, Operators: ops, Delay: 24 * time.Hour, Set: now()}
	two := authority.Policy{Version: 2, Delay: 0, Set: now()}
	set("the first policy", one, nil)
	set("version 1 again", one, authority.ErrConflict)
	skipped := two
	skipped.Version = 3
	set("a version skipped", skipped, authority.ErrConflict)
	set("the second policy", two, nil)
	unsorted := two
	unsorted.Version, unsorted.Operators, unsorted.Quorum = 3, []keyblob.Fingerprint{ops[1], ops[0]}, 1
	set("unsorted operators", unsorted, api.ErrInvalid)
	big := two
	big.Version, big.Quorum = 3, 1
	set("a quorum above the operators", big, api.ErrInvalid)
	newest, err := e.s.Policy(ctx, 0)
	is(t, "Policy(0)", err, nil)
	same(t, "the newest policy", newest, two)
	first, err := e.s.Policy(ctx, 1)
	is(t, "Policy(1)", err, nil)
	same(t, "the first policy", first, one)
	_, err = e.s.Policy(ctx, 9)
	is(t, "an unknown version", err, api.ErrNotFound)
	verify(t, e.s, 2)
}
