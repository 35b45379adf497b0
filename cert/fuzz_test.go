package cert

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseExtension checks that ParseExtension never panics and that what
// it accepts marshals back to the same bytes (one encoding per value).
func FuzzParseExtension(f *testing.F) {
	for _, kind := range []string{"x25519", "hybrid", "rsa"} {
		ext, err := MarshalExtension(testID(f, kind).Recipient())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(ext.Value)
	}
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x01})
	f.Fuzz(func(t *testing.T, value []byte) {
		r, err := ParseExtension(value)
		if err != nil {
			return
		}
		ext, err := MarshalExtension(r)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ext.Value, value) {
			t.Fatalf("ParseExtension accepted %x, which marshals as %x", value, ext.Value)
		}
	})
}

// FuzzParseChain checks that ParseChain never panics, stays in its bounds,
// and that a chain it accepts is read back the same from EncodeChain.
func FuzzParseChain(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(vectorDir, "*.pem"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		if c, err := ParseChain(data); err == nil {
			f.Add(c[0].Raw)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		chain, err := ParseChain(data)
		if err != nil {
			return
		}
		if len(chain) == 0 || len(chain) > MaxChainLength {
			t.Fatalf("%d certificates", len(chain))
		}
		again, err := ParseChain(EncodeChain(chain))
		if err != nil || len(again) != len(chain) {
			t.Fatalf("EncodeChain's output does not parse back: %v", err)
		}
		for i := range chain {
			if !bytes.Equal(again[i].Raw, chain[i].Raw) {
				t.Fatalf("certificate %d changed", i)
			}
			_, _ = Recipient(chain[i])
		}
	})
}
