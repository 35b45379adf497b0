package api_test

import (
	"testing"

	"github.com/keyblob/keyblob/authority/api"
)

func FuzzDecodeJSON(f *testing.F) {
	f.Add([]byte(`{"owner":"x","to":"y","serial":null,"sealed_code":"AA"}`))
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var in api.RecoveryRequestV1
		api.DecodeJSON(b, &in)
		var e api.EnrollRequestV1
		api.DecodeJSON(b, &e)
	})
}

func FuzzParseAuth(f *testing.F) {
	f.Add("SHA256:"+"A", "1", "AAAAAAAAAAAAAAAAAAAAAA", "AA")
	f.Fuzz(func(t *testing.T, signer, tm, nonce, sig string) {
		api.ParseAuth(signer, tm, nonce, sig)
	})
}

func FuzzParseRecoveryCode(f *testing.F) {
	f.Add(api.NewRecoveryCode().String())
	f.Fuzz(func(t *testing.T, s string) {
		c, err := api.ParseRecoveryCode(s)
		if err == nil {
			if d, err := api.ParseRecoveryCode(c.String()); err != nil || d != c {
				t.Fatalf("round trip of %q", s)
			}
		}
	})
}
