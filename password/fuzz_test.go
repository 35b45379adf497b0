package password

import (
	"testing"

	"golang.org/x/crypto/cryptobyte"
)

// FuzzRead checks that decoded parameters are always within the limits and
// re-encode to the bytes they came from.
func FuzzRead(f *testing.F) {
	var b cryptobyte.Builder
	New().Append(&b)
	f.Add(b.BytesOrPanic())
	f.Add(make([]byte, EncodedSize))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := cryptobyte.String(data)
		p, err := Read(&s)
		if err != nil {
			return
		}
		if p.Check() != nil {
			t.Fatalf("Read returned out-of-bounds parameters %+v", p)
		}
		var again cryptobyte.Builder
		p.Append(&again)
		if got := again.BytesOrPanic(); string(got) != string(data[:EncodedSize]) {
			t.Fatalf("re-encoded %x, read %x", got, data[:EncodedSize])
		}
	})
}

// FuzzParseText checks that accepted text is canonical and within limits.
func FuzzParseText(f *testing.F) {
	f.Add(New().String())
	f.Add("keyblob-argon2id/v1 t=3 m=65536 p=4 salt=00000000000000000000000000000000")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseText(s)
		if err != nil {
			return
		}
		if p.String() != s || p.Check() != nil {
			t.Fatalf("accepted %q as %q (%v)", s, p.String(), p.Check())
		}
	})
}
