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
