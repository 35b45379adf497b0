package authority

import (
	"errors"

	"github.com/keyblob/keyblob/authority/api"
)

// refusals are the ways the service turns a request away to protect
// itself, one row each: the reason label of
// keyblob_authority_refused_total, the outcome that is it, and when. A
// refusal is a 429 for the client, and never a store error. The metric
// starts with every reason at zero.
var refusals = []struct {
	reason string
	err    error
	when   string
}{
	{"busy", api.ErrBusy, "a request waited too long for a code check, or its source sent too fast"},
	{"throttled", api.ErrThrottled, "an owner's failed code checks make its next one wait"},
}

// refusalOf returns the reason of a refusal, or "" if err is none.
func refusalOf(err error) string {
	for _, r := range refusals {
		if errors.Is(err, r.err) {
			return r.reason
		}
	}
	return ""
}
