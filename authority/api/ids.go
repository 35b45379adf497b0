package api

import (
	"encoding/hex"
	"fmt"
	"math"
	"time"

	"github.com/keyblob/keyblob"
)

// Bounds of the records a Store keeps (spec/escrow-api.md section 9). A
// record outside them is ErrInvalid.
const (
	MaxRecipientLine = 8 << 10 // a recipient line (spec/blob.md section 6.2)
	MaxBlob          = 16 << 10
	MaxDescription   = keyblob.MaxDescription
	MaxVerifier      = 1 << 10
	MaxDetail        = math.MaxUint16
	MaxPage          = 1000
)

// RequestID names a recovery request: 16 random bytes.
type RequestID [16]byte

// String returns the 32 lower-case hexadecimal digits of id.
func (id RequestID) String() string { return hex.EncodeToString(id[:]) }

// ParseRequestID parses the String form, and only it.
func ParseRequestID(s string) (RequestID, error) {
	var id RequestID
	raw, err := hex.DecodeString(s)
	if err != nil || len(raw) != len(id) || hex.EncodeToString(raw) != s {
		return id, fmt.Errorf("%w request id (want 32 lower-case hexadecimal digits)", keyblob.ErrMalformed)
	}
	return RequestID(raw), nil
}

// maxTime is the last time a record holds: int64 nanoseconds since 1970.
var maxTime = time.Unix(0, math.MaxInt64)

// InTimeRange reports whether t is within the times a record holds: 1970
// to 2262, int64 nanoseconds since 1970.
func InTimeRange(t time.Time) bool { return !t.Before(time.Unix(0, 0)) && !t.After(maxTime) }
