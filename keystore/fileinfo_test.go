package keystore

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/format"
)

// TestParseIdentityFile reads a stored identity written by the store, away
// from the store, and finds what the store reads: its name, generations
// and costs.
func TestParseIdentityFile(t *testing.T) {
	s := newStore(t)
	mustIdentity(t, s, "me", keyblob.KindX25519)
	if _, _, err := s.Rotate("me", pass); err != nil {
		t.Fatal(err)
	}
	data := readFile(t, filepath.Join(s.Dir(), identitiesDir, "me.id"))
	f, err := ParseIdentityFile(data)
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.Identity("me")
	if err != nil {
		t.Fatal(err)
	}
	if f.Name != "me" || len(f.Generations) != 2 {
		t.Fatalf("ParseIdentityFile = %+v", f)
	}
	for i, g := range f.Generations {
		if !g.Recipient.Equal(want.Generations[i].Recipient) || !g.Created.Equal(want.Generations[i].Created) {
			t.Errorf("generation %d = %v, want %v", i, g, want.Generations[i])
		}
	}
	if p := f.Params; p.Time != cheapParams.Time || p.MemoryKiB != cheapParams.MemoryKiB || p.Threads != cheapParams.Threads {
		t.Errorf("Params = %v, want the costs of %v", p, cheapParams)
	}
}

// TestParseIdentityFileRefuses checks that every strict prefix, every
// one-bit flip of the header and other files fail, without a panic.
func TestParseIdentityFileRefuses(t *testing.T) {
	s := newStore(t)
	mustIdentity(t, s, "me", keyblob.KindX25519)
	data := readFile(t, filepath.Join(s.Dir(), identitiesDir, "me.id"))
	for n := range len(data) - 1 { // the armor's final line end is optional
		if _, err := ParseIdentityFile(data[:n]); err == nil {
			t.Fatalf("a prefix of %d of %d bytes parses", n, len(data))
		}
	}
	gens := readFile(t, filepath.Join(s.Dir(), identitiesDir, "me.gens"))
	for _, bad := range [][]byte{nil, gens, []byte("hello\n")} {
		if _, err := ParseIdentityFile(bad); err == nil {
			t.Errorf("ParseIdentityFile(%q) succeeded", bad)
		}
	}
	// A flip in the name inside the binary file is either refused or read
	// as the other name: the name returned is always the file's own.
	body, err := format.Unarmor(data, pemIdentity)
	if err != nil {
		t.Fatal(err)
	}
	body[format.HeaderSize+1] ^= 'm' ^ 'n' // "me" becomes "ne"
	f, err := ParseIdentityFile(format.Armor(pemIdentity, body))
	if err != nil || f.Name != "ne" {
		t.Fatalf("renamed inside: %v, %v; want the name \"ne\"", f, err)
	}
}

// TestParseIdentityFileName checks that the name inside the file is the
// one returned, whatever the file is called, and that a name no store
// could hold is refused.
func TestParseIdentityFileName(t *testing.T) {
	id := mustGenerate(t, keyblob.KindX25519)
	k := &Keyring{Name: "alice.work", Identities: []*keyblob.Identity{id}, Created: []time.Time{time0}}
	data, err := encryptIdentity(k, pass, cheapParams)
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseIdentityFile(data)
	if err != nil || f.Name != "alice.work" {
		t.Fatalf("ParseIdentityFile = %v, %v", f, err)
	}
	k.Name = "../x"
	data, err = encryptIdentity(k, pass, cheapParams)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseIdentityFile(data); !errors.Is(err, ErrBadName) {
		t.Fatalf("a file named %q inside: %v, want ErrBadName", k.Name, err)
	}
}

// TestParseGenerationRecord reads the record the store writes, and
// refuses its prefixes, flips and other spellings.
func TestParseGenerationRecord(t *testing.T) {
	s := newStore(t)
	mustIdentity(t, s, "me", keyblob.KindX25519)
	if _, _, err := s.Rotate("me", pass); err != nil {
		t.Fatal(err)
	}
	data := readFile(t, filepath.Join(s.Dir(), identitiesDir, "me.gens"))
	if !IsGenerationRecord(data) {
		t.Fatal("IsGenerationRecord(record) = false")
	}
	name, fps, err := ParseGenerationRecord(data)
	info, _ := s.Identity("me")
	if err != nil || name != "me" || len(fps) != 2 || !fps[1].Equal(info.Current().Recipient.Fingerprint()) {
		t.Fatalf("ParseGenerationRecord = %q, %v, %v", name, fps, err)
	}
	// A record cut after a whole line is the record of fewer generations
	// (the format allows it); every other prefix fails.
	for n := range len(data) {
		_, got, err := ParseGenerationRecord(data[:n])
		if n > 0 && data[n-1] == '\n' && bytes.Count(data[:n], []byte("\n")) == 2 {
			if err != nil || len(got) != 1 {
				t.Fatalf("the first generation alone: %v, %v", got, err)
			}
			continue
		}
		if err == nil {
			t.Fatalf("a prefix of %d of %d bytes parses", n, len(data))
		}
	}
	// The record is not authenticated: a flip is refused, or read as
	// another name or fingerprint, never as the same record.
	for i := range data {
		flipped := bytes.Clone(data)
		flipped[i] ^= 1
		n, got, err := ParseGenerationRecord(flipped)
		if err == nil && n == name && len(got) == 2 && got[0].Equal(fps[0]) && got[1].Equal(fps[1]) {
			t.Fatalf("a flip of byte %d reads as the same record", i)
		}
	}
	for _, bad := range []string{
		"keyblob generation record v1 me\n" + fps[0].String() + "\n",
		"keyblob generation record v1 \"../x\"\n" + fps[0].String() + "\n",
		"keyblob generation record v1 \"me\"\r\n" + fps[0].String() + "\n",
		string(data) + "\n",
	} {
		if _, _, err := ParseGenerationRecord([]byte(bad)); err == nil {
			t.Errorf("ParseGenerationRecord(%q) succeeded", bad)
		}
	}
}

// time0 is the creation time of the test files made here.
var time0 = time.Unix(1_700_000_000, 0).UTC()

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// FuzzParseIdentityFile: never a panic; what parses is a valid name.
func FuzzParseIdentityFile(f *testing.F) {
	id, err := keyblob.GenerateIdentity(keyblob.KindX25519)
	if err != nil {
		f.Fatal(err)
	}
	k := &Keyring{Name: "me", Identities: []*keyblob.Identity{id}, Created: []time.Time{time0}}
	good, err := encryptIdentity(k, pass, cheapParams)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := ParseIdentityFile(data)
		if err != nil {
			return
		}
		if CheckName(file.Name) != nil || len(file.Generations) == 0 || file.Params.Check() != nil {
			t.Fatalf("parsed an invalid file: %+v", file)
		}
	})
}

// FuzzParseGenerationRecord: never a panic; what parses encodes back to
// the same bytes.
func FuzzParseGenerationRecord(f *testing.F) {
	f.Add([]byte("keyblob generation record v1 \"me\"\nSHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		name, fps, err := ParseGenerationRecord(data)
		if err != nil {
			return
		}
		var b bytes.Buffer
		b.WriteString(generationsHeader + `"` + name + "\"\n")
		for _, fp := range fps {
			b.WriteString(fp.String() + "\n")
		}
		if !bytes.Equal(b.Bytes(), data) {
			t.Fatalf("%q parsed, but encodes as %q", data, b.Bytes())
		}
	})
}
