package keystore

import (
	"bytes"
	"testing"
)

// FuzzDecodeContact feeds arbitrary contact files to the reader: never a
// panic, and a file that is accepted re-encodes to itself and passes
// CheckContact.
func FuzzDecodeContact(f *testing.F) {
	c := certifiedContact(f, "alice")
	good := encodeContact(c)
	f.Add(good)
	f.Add([]byte(c.Recipient.String() + "\n"))
	f.Add(bytes.Replace(good, []byte("\nca "), []byte("\ncert "), 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeContact(data, "alice")
		if err != nil {
			return
		}
		if err := CheckContact(got); err != nil {
			t.Fatalf("accepted a contact CheckContact refuses: %v", err)
		}
		if len(got.Chain) > 0 && !bytes.Equal(encodeContact(got), data) {
			t.Fatalf("accepted a file that re-encodes otherwise")
		}
	})
}
