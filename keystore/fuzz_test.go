package keystore

import (
	"bytes"
	"testing"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/password"
)

// FuzzDecodeIdentity feeds arbitrary stored identity files to the decoder
// and the unlock: never a panic, and a file that unlocks holds keys that
// match its header.
func FuzzDecodeIdentity(f *testing.F) {
	cheap := password.Params{Time: 1, MemoryKiB: password.MinMemoryKiB, Threads: 1}
	id, err := keyblob.GenerateIdentity(keyblob.KindX25519)
	if err != nil {
		f.Fatal(err)
	}
	k := &Keyring{Name: "me", Identities: []*keyblob.Identity{id}, Created: []time.Time{time.Unix(1_700_000_000, 0).UTC()}}
	good, err := encryptIdentity(k, []byte("pw"), cheap)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(bytes.Replace(good, []byte("A"), []byte("B"), 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		si, err := decodeIdentity(data, "me")
		if err != nil {
			return
		}
		if si.params.MemoryKiB > 64<<10 {
			return // valid, but too slow to unlock in a fuzz loop
		}
		k, err := si.unlock([]byte("pw"))
		if err != nil {
			return
		}
		for i, g := range si.info.Generations {
			if !k.Identities[i].Recipient().Equal(g.Recipient) {
				t.Fatal("unlocked keys do not match the header")
			}
		}
	})
}

// FuzzLogState feeds arbitrary log state files to the decoder: never a
// panic, and what decodes encodes back to the same bytes (one encoding per
// state).
func FuzzLogState(f *testing.F) {
	a, b := keyblob.Fingerprint{1}.String(), keyblob.Fingerprint{4}.String()
	f.Add([]byte("\n"))
	f.Add([]byte("seen 2025-03-04T05:06:07.123456789Z\nwatch " + a + " 1\nwatch " + b + " 18446744073709551615\n\nlog\n1\nroot\n\n— log sig\n"))
	f.Add([]byte("watch " + a + " 0\n\n"))
	f.Add([]byte("seen 1970-01-01T00:00:01Z\n\nx\n"))
	f.Add([]byte("watch " + b + " 1\nwatch " + a + " 01\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := decodeLogState(data)
		if err != nil {
			return
		}
		again, err := encodeLogState(st)
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("decoded %q, encodes as %q (%v)", data, again, err)
		}
	})
}
