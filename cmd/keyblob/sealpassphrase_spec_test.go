package main

// Spec test for spec/sealed.md section 1.3: the Argon2id parameters that
// "keyblob seal -p" writes in its passphrase stanza.

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/keyblob/keyblob/password"
	"github.com/keyblob/keyblob/seal"
)

// TestSpecSealPassphraseParams: t = 3, m = 65536 KiB, p = 4, and a salt
// new for every message.
func TestSpecSealPassphraseParams(t *testing.T) {
	dir := t.TempDir()
	passFile := filepath.Join(dir, "pass")
	if err := os.WriteFile(passFile, []byte("correct horse\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv := func(key string) string {
		if key == "HOME" || key == "KEYBLOB_HOME" {
			return dir
		}
		return ""
	}
	var salts [][password.SaltSize]byte
	for range 2 {
		var out, errOut bytes.Buffer
		e := &env{stdin: bytes.NewReader([]byte("hello")), stdout: &out, stderr: &errOut, getenv: getenv}
		if code := runEnv(e, []string{"seal", "-q", "--message-passphrase-file", passFile}); code != 0 {
			t.Fatalf("seal -p: exit %d: %s", code, errOut.String())
		}
		h, err := seal.ReadHeader(&out)
		if err != nil {
			t.Fatal(err)
		}
		st := h.Stanzas()
		if !h.Passphrase() || len(st) != 1 || len(st[0].Body()) != 73 {
			t.Fatalf("not one 73-byte passphrase stanza")
		}
		body := st[0].Body()
		want := password.Params{Time: 3, MemoryKiB: 65536, Threads: 4}
		copy(want.Salt[:], body[9:25])
		var enc bytes.Buffer
		encodeParams(&enc, want)
		if !bytes.Equal(body[:25], enc.Bytes()) {
			t.Errorf("parameter block %x, want t=3 m=65536 p=4", body[:25])
		}
		salts = append(salts, want.Salt)
	}
	if salts[0] == salts[1] || salts[0] == [password.SaltSize]byte{} {
		t.Error("two messages with one salt")
	}
}

// encodeParams writes the 25-byte block of spec/keystore.md section 2 by
// hand: u32 time, u32 memory, u8 threads, salt.
func encodeParams(b *bytes.Buffer, p password.Params) {
	b.Write([]byte{byte(p.Time >> 24), byte(p.Time >> 16), byte(p.Time >> 8), byte(p.Time)})
	b.Write([]byte{byte(p.MemoryKiB >> 24), byte(p.MemoryKiB >> 16), byte(p.MemoryKiB >> 8), byte(p.MemoryKiB)})
	b.WriteByte(p.Threads)
	b.Write(p.Salt[:])
}
