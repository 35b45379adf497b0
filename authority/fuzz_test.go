package authority_test

import (
	"testing"

	"github.com/keyblob/keyblob/authority"
)

func FuzzDecodeJSON(f *testing.F) {
	f.Add([]byte(`{"owner":"x","to":"y","serial":null,"sealed_code":"AA"}`))
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var in authority.RecoveryRequestV1
		authority.DecodeJSON(b, &in)
		var e authority.EnrollRequestV1
		authority.DecodeJSON(b, &e)
	})
}

func FuzzParseAuth(f *testing.F) {
	f.Add("SHA256:"+"A", "1", "AAAAAAAAAAAAAAAAAAAAAA", "AA")
	f.Fuzz(func(t *testing.T, signer, tm, nonce, sig string) {
		authority.ParseAuth(signer, tm, nonce, sig)
	})
}

func FuzzParseRecoveryCode(f *testing.F) {
	f.Add(authority.NewRecoveryCode().String())
	f.Fuzz(func(t *testing.T, s string) {
		c, err := authority.ParseRecoveryCode(s)
		if err == nil {
			if d, err := authority.ParseRecoveryCode(c.String()); err != nil || d != c {
				t.Fatalf("round trip of %q", s)
			}
		}
	})
}
