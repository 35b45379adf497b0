package api

import (
	"errors"
	"net/http"

	"github.com/keyblob/keyblob"
)

// statusTable decides every response's status and error code from the
// outcome, in one place (spec/escrow-api.md section 8). The first entry
// whose error matches (errors.Is) wins; anything else is 500 internal.
var statusTable = []struct {
	err    error
	status int
	code   string
}{
	{ErrTooLarge, http.StatusRequestEntityTooLarge, "too_large"},
	{ErrMediaType, http.StatusUnsupportedMediaType, "unsupported_media_type"},
	{ErrMethod, http.StatusMethodNotAllowed, "method_not_allowed"},
	{ErrStoreUnavailable, http.StatusServiceUnavailable, "store_unavailable"},
	{ErrUnavailable, http.StatusServiceUnavailable, "unavailable"},
	{ErrInternal, http.StatusInternalServerError, "internal"},
	{ErrUnauthenticated, http.StatusUnauthorized, "unauthenticated"},
	{ErrRequestExpired, http.StatusUnauthorized, "request_expired"},
	{ErrReplay, http.StatusUnauthorized, "replayed"},
	{ErrThrottled, http.StatusTooManyRequests, "throttled"},
	{ErrBusy, http.StatusTooManyRequests, "busy"},
	{ErrRecoveryRefused, http.StatusForbidden, "recovery_refused"},
	{ErrApprovalRefused, http.StatusForbidden, "approval_refused"},
	{ErrNotFound, http.StatusNotFound, "not_found"},
	{ErrIdentityBound, http.StatusConflict, "identity_bound"},
	{ErrStale, http.StatusConflict, "stale"},
	{ErrNotPending, http.StatusConflict, "not_pending"},
	{ErrApprovalPending, http.StatusConflict, "approval_pending"},
	{ErrNotCompletable, http.StatusConflict, "not_completable"},
	{ErrAlreadyApproved, http.StatusConflict, "already_approved"},
	{ErrKeysUnavailable, http.StatusConflict, "keys_unavailable"},
	{ErrUnusableIdentity, http.StatusUnprocessableEntity, "unusable_identity"},
	{ErrBadSealedCode, http.StatusUnprocessableEntity, "bad_sealed_code"},
	{ErrWrongRecipient, http.StatusUnprocessableEntity, "wrong_recipient"},
	{ErrBadBlobSignature, http.StatusUnprocessableEntity, "bad_blob_signature"},
	{keyblob.ErrMalformed, http.StatusBadRequest, "bad_request"},
}

// Outcome returns the status, code and public message of err, the
// response a server gives for it.
func Outcome(err error) (int, string, string) {
	for _, row := range statusTable {
		if errors.Is(err, row.err) {
			msg := row.err.Error()
			if row.status < 500 {
				msg = err.Error() // 4xx messages name what was wrong, never a secret
			}
			return row.status, row.code, msg
		}
	}
	return http.StatusInternalServerError, "internal", ErrInternal.Error()
}

// ErrorOf returns the sentinel whose code is code (spec section 8), or
// nil for an unknown code.
func ErrorOf(code string) error {
	for _, row := range statusTable {
		if row.code == code {
			return row.err
		}
	}
	return nil
}
