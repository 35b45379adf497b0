package channel

import (
	"bytes"
	"testing"
)

// TestIdentityHelloSignedOnce checks that an identity-mode server sends
// one signed hello for all its sessions, that clients accept it every
// time, and that a fresh-key server still signs each of its keys.
func TestIdentityHelloSignedOnce(t *testing.T) {
	ccfg, scfg, _ := seedIdentityConfigs(t, 8)
	hello := func(scfg *Config) []byte {
		c, s := mustSessions(ccfg, scfg)
		h, err := s.NextHandshakeMessage()
		if err != nil {
			t.Fatal(err)
		}
		msg := bytes.Clone(h)
		if _, err := c.ReadHandshakeMessage(h); err != nil {
			t.Fatalf("client refused the hello: %v", err)
		}
		return msg
	}
	if a, b := hello(scfg), hello(scfg); !bytes.Equal(a, b) {
		t.Error("two identity-mode hellos differ: signed per session")
	}
	fresh := *scfg
	fresh.SeedKey, fresh.SeedReplay, fresh.hooks = SeedKeyFresh, nil, &testHooks{seedKey: fixedSeedKey(t)}
	if a, b := hello(&fresh), hello(&fresh); bytes.Equal(a, b) {
		t.Error("two fresh-key hellos of one key are identical: the cache was used (RSA-PSS is randomized)")
	}
}
