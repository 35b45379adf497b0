package api

import (
	"errors"
	"fmt"
	"time"
)

// ErrThrottled refuses a code check of an owner whose failed checks made
// it wait (spec/escrow-api.md section 5.4): HTTP 429, with Retry-After.
var ErrThrottled = errors.New("too many wrong recovery codes for this owner: code checks are paused")

// ErrBusy refuses a request that would have waited too long for a code
// check, or that its source sent too fast: HTTP 429, with Retry-After.
var ErrBusy = errors.New("too many requests: try again shortly")

// ErrNotCompletable refuses to complete a recovery request before its
// recovery delay has passed (spec section 7.9): HTTP 409, with
// Retry-After.
var ErrNotCompletable = errors.New("the recovery request cannot be completed yet")

// RetryError is one of ErrThrottled, ErrBusy or ErrNotCompletable with
// when to try again.
type RetryError struct {
	Err   error
	After time.Duration
}

func (e *RetryError) Error() string {
	secs, _ := RetryAfter(e)
	return fmt.Sprintf("%v: try again in %s", e.Err, time.Duration(secs)*time.Second)
}

func (e *RetryError) Unwrap() error { return e.Err }

// RetryAfter returns the whole seconds to wait that err says, rounded up
// and at least 1, and whether it says any.
func RetryAfter(err error) (int64, bool) {
	var r *RetryError
	if !errors.As(err, &r) {
		return 0, false
	}
	return max(1, int64((r.After+time.Second-1)/time.Second)), true
}
