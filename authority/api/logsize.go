package api

import (
	"fmt"
	"net/http"
	"strconv"
)

// HeaderLogSize is the request header in which a client states the size
// of the newest checkpoint of the log it verified (spec/escrow-api.md
// section 6.8), so that a receipt in the answer comes with the proof that
// its checkpoint extends that tree, and the client needs no second
// request. It is not signed: a wrong size only gives a proof the client
// cannot use.
const HeaderLogSize = "Keyblob-Log-Size"

// ConsistencyV1 is the proof that a receipt's checkpoint extends the tree
// of the log's first Old entries.
type ConsistencyV1 struct {
	Old   uint64   `json:"old"`
	Proof []string `json:"proof"`
}

// ParseLogSize reads HeaderLogSize: 0 when it is absent, else a canonical
// decimal number, given once.
func ParseLogSize(hd http.Header) (uint64, error) {
	vals := hd.Values(HeaderLogSize)
	switch len(vals) {
	case 0:
		return 0, nil
	case 1:
	default:
		return 0, fmt.Errorf("%w request: %s more than once", errMalformed, HeaderLogSize)
	}
	n, err := strconv.ParseUint(vals[0], 10, 63)
	if err != nil || strconv.FormatUint(n, 10) != vals[0] {
		return 0, fmt.Errorf("%w request: %s is not a canonical number", errMalformed, HeaderLogSize)
	}
	return n, nil
}
