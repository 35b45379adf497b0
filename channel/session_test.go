package channel

import (
	"bytes"
	"fmt"
	"testing"
)

// TestSessionRoundTrip runs every profile, kind and mode at the message
// level: records both ways, a key update, the close record.
func TestSessionRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		profile Profile
		kind    string
		mutual  bool
	}{
		{V2, "hybrid", false}, {V2, "hybrid", true},
		{V2, "x25519", false}, {V2, "x25519", true},
		{V2, "rsa-2048", false}, {V2, "rsa-2048", true},
		{Seed, "rsa-2048", false}, {Seed, "hybrid", false},
	} {
		t.Run(fmt.Sprintf("%v/%s/mutual=%v", tc.profile, tc.kind, tc.mutual), func(t *testing.T) {
			ccfg, scfg := pair(t, tc.profile, tc.kind, tc.mutual)
			c, s := sessions(t, ccfg, scfg)
			for i, ends := range [][2]*Session{{c, s}, {s, c}, {c, s}} {
				msg := bytes.Repeat([]byte{byte(i + 1)}, 100*i+1)
				rec, err := ends[0].Seal(nil, msg)
				if err != nil {
					t.Fatal(err)
				}
				typ, got, err := ends[1].Open(rec)
				if err != nil || typ != RecordData || !bytes.Equal(got, msg) {
					t.Fatalf("record %d: %v %v", i, typ, err)
				}
			}
			if tc.profile == V2 {
				rec, err := c.SealKeyUpdate(nil)
				if err != nil {
					t.Fatal(err)
				}
				if typ, _, err := s.Open(rec); err != nil || typ != RecordKeyUpdate {
					t.Fatalf("key update: %v %v", typ, err)
				}
				if c.State().SendEpoch != 1 || s.State().ReceiveEpoch != 1 {
					t.Errorf("epochs after the update: %+v %+v", c.State(), s.State())
				}
				rec, _ = c.Seal(nil, []byte("after"))
				if _, got, err := s.Open(rec); err != nil || string(got) != "after" {
					t.Fatalf("after the update: %v", err)
				}
			}
			rec, err := s.SealClose(nil)
			if err != nil {
				t.Fatal(err)
			}
			if typ, _, err := c.Open(rec); err != nil || typ != RecordClose {
				t.Fatalf("close: %v %v", typ, err)
			}
			if _, err := s.Seal(nil, []byte("x")); err == nil {
				t.Error("sealed after the close record")
			}
			st := c.State()
			if !st.HandshakeComplete || st.Peer == nil || !st.Peer.Equal(scfg.Identity.Recipient()) {
				t.Errorf("client state %+v", st)
			}
			if got := s.State(); tc.mutual != (got.Peer != nil) || got.Mutual != tc.mutual {
				t.Errorf("server state %+v", got)
			}
		})
	}
}
