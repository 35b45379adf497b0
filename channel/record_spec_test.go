package channel

// Spec tests for spec/channel.md sections 2 and 4.4: a v2 record that
// opens but breaks the record rules is ErrMalformed, neither ErrAuth nor
// ErrHandshake.

import (
	"errors"
	"testing"

	"github.com/keyblob/keyblob"
)

// sealRaw seals any type and data with the session's sending keys, as a
// broken but authentic peer would.
func sealRaw(s *Session, typ RecordType, data []byte) []byte {
	h := s.res.send.(*gcmHalf)
	rec := h.aead.Seal(nil, h.nonce(), append([]byte{byte(typ)}, data...), nil)
	h.seq++
	return rec
}

func TestSpecMalformedRecord(t *testing.T) {
	cases := []struct {
		name string
		typ  RecordType
		data []byte
	}{
		{"empty data record", RecordData, nil},
		{"close record with data", RecordClose, []byte("xy")},
		{"close record with reason 0", RecordClose, []byte{0}},
		{"unknown type 3", 3, []byte("x")},
		{"unknown type 255", 255, nil},
	}
	ccfg, scfg := pair(t, V2, "x25519", false)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, s := sessions(t, ccfg, scfg)
			_, _, err := s.Open(sealRaw(c, tc.typ, tc.data))
			if !errors.Is(err, keyblob.ErrMalformed) || errors.Is(err, ErrAuth) || errors.Is(err, ErrHandshake) {
				t.Fatalf("%v: want ErrMalformed only", err)
			}
		})
	}
	t.Run("does not open", func(t *testing.T) {
		c, s := sessions(t, ccfg, scfg)
		rec := sealRaw(c, RecordData, []byte("x"))
		rec[0] ^= 1
		if _, _, err := s.Open(rec); err != ErrAuth || errors.Is(err, keyblob.ErrMalformed) {
			t.Fatalf("%v: want ErrAuth", err)
		}
	})
}
