package keyblob

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/keyblob/keyblob/internal/format"
	"github.com/keyblob/keyblob/password"
)

func TestSessionKeyRoundTrip(t *testing.T) {
	k := NewSessionKey()
	if k.Alg() != SessionAES256GCM || k.Origin() != originRandom || len(k.Bytes()) != SessionKeySize {
		t.Fatalf("NewSessionKey: alg %s origin %d, %d key bytes", k.Alg(), k.Origin(), len(k.Bytes()))
	}
	bin := k.Marshal()
	if len(bin) != sessionKeySize {
		t.Errorf("binary session key is %d bytes, want %d", len(bin), sessionKeySize)
	}
	if !bytes.HasPrefix(bin, []byte("kblbk\x01")) {
		t.Errorf("binary session key starts with %q, want the kblb k version 1 prefix", bin[:6])
	}
	serial := k.Serial()
	if !bytes.Equal(bin[7:23], serial[:]) || !bytes.Equal(bin[24:], k.Bytes()) {
		t.Errorf("the layout of the binary session key is not alg, serial, origin, key")
	}
	armored := k.MarshalPEM()
	if !bytes.HasPrefix(armored, []byte("-----BEGIN KEYBLOB SESSION KEY-----\n")) {
		t.Errorf("armored session key starts %q", firstLine(string(armored)))
	}
	for name, data := range map[string][]byte{"binary": bin, "armored": armored} {
		t.Run(name, func(t *testing.T) {
			got, err := ParseSessionKey(data)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(k) || got.Serial() != k.Serial() || !bytes.Equal(got.Bytes(), k.Bytes()) {
				t.Errorf("round trip changed the key")
			}
			if !bytes.Equal(got.Marshal(), bin) || !bytes.Equal(got.MarshalPEM(), armored) {
				t.Errorf("re-encoding differs")
			}
		})
	}
	b := k.Bytes()
	b[0] ^= 1
	if bytes.Equal(k.Bytes(), b) {
		t.Errorf("Bytes does not return a copy")
	}
	if s := k.Serial().String(); len(s) != 32 || strings.ToLower(s) != s {
		t.Errorf("Serial.String() = %q, want 32 lower-case hex digits", s)
	}
}

func TestSessionKeysAreUnique(t *testing.T) {
	const n = 1000
	serials := make(map[Serial]bool, n)
	keys := make(map[string]bool, n)
	for range n {
		k := NewSessionKey()
		if serials[k.Serial()] || keys[string(k.Bytes())] {
			t.Fatalf("NewSessionKey repeated a serial or a key within %d keys", n)
		}
		serials[k.Serial()], keys[string(k.Bytes())] = true, true
	}
}

func TestSessionKeyEqual(t *testing.T) {
	k := NewSessionKey()
	same, err := ParseSessionKey(k.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	otherKey := k.Marshal()
	otherKey[len(otherKey)-1] ^= 1
	otherSerial := k.Marshal()
	otherSerial[10] ^= 1
	if !k.Equal(same) {
		t.Errorf("a key is not Equal to its parsed copy")
	}
	for name, b := range map[string][]byte{"other key bytes": otherKey, "other serial": otherSerial} {
		o, err := ParseSessionKey(b)
		if err != nil {
			t.Fatal(err)
		}
		if k.Equal(o) {
			t.Errorf("%s: Equal reports true", name)
		}
	}
}

func TestParseSessionKeyRejects(t *testing.T) {
	k := NewSessionKey()
	bin := k.Marshal()
	armored := string(k.MarshalPEM())
	with := func(i int, v byte) []byte {
		b := bytes.Clone(bin)
		b[i] = v
		return b
	}
	tests := []struct {
		name      string
		data      []byte
		malformed bool   // the error must be ErrMalformedSessionKey
		want      string // part of the message
	}{
		{"empty", nil, true, "no keyblob magic"},
		{"trailing byte", append(bytes.Clone(bin), 0), true, "malformed session key"},
		{"unknown algorithm", with(6, 2), true, "unknown session key algorithm 2"},
		{"algorithm zero", with(6, 0), true, "unknown session key algorithm 0"},
		{"derived origin without parameters", with(23, byte(originDerived)), true, "truncated Argon2id parameters"},
		{"unknown origin", with(23, 2), true, "malformed session key"},
		{"key blob type", with(4, format.TypeBlob), true, "it is a key blob"},
		{"version 2", with(5, 2), true, "session key version 2"},
		{"bad magic", with(0, 'K'), true, "no keyblob magic"},
		{"wrong PEM label", []byte(strings.ReplaceAll(armored, "SESSION KEY", "KEY BLOB")), true, `PEM block is "KEYBLOB KEY BLOB"`},
		{"PEM headers", []byte(strings.Replace(armored, "-----\n", "-----\nProc-Type: 4,ENCRYPTED\n\n", 1)), true, "headers"},
		{"text after PEM", []byte(armored + "x"), true, "trailing data"},
		{"non-canonical PEM lines", []byte(rewrap(armored, 76)), true, "canonical"},
	}
	for i := range len(bin) {
		tests = append(tests, struct {
			name      string
			data      []byte
			malformed bool
			want      string
		}{"truncated to " + strconv.Itoa(i), bin[:i], true, "malformed session key"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSessionKey(tt.data)
			if err == nil {
				t.Fatalf("ParseSessionKey accepted a key with serial %s", got.Serial())
			}
			if tt.malformed && !errors.Is(err, ErrMalformedSessionKey) {
				t.Errorf("error %q is not ErrMalformedSessionKey", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
	if _, err := ParseSessionKey(with(5, 2)); !errors.Is(err, format.ErrUnsupportedVersion) {
		t.Errorf("version 2: %v, want ErrUnsupportedVersion", err)
	}
}

// rewrap re-encodes an armored object with base64 lines of n characters.
func rewrap(armored string, n int) string {
	lines := strings.Split(strings.TrimSpace(armored), "\n")
	body := strings.Join(lines[1:len(lines)-1], "")
	var b strings.Builder
	b.WriteString(lines[0] + "\n")
	for len(body) > n {
		b.WriteString(body[:n] + "\n")
		body = body[n:]
	}
	b.WriteString(body + "\n" + lines[len(lines)-1] + "\n")
	return b.String()
}

// cheapParams are Argon2id parameters at the lower limits, for tests.
var cheapParams = password.Params{Time: 1, MemoryKiB: password.MinMemoryKiB, Threads: 1, Salt: [16]byte{1, 2, 3}}

func TestDeriveSessionKey(t *testing.T) {
	a, err := DeriveSessionKey([]byte("correct horse"), cheapParams)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := DeriveSessionKey([]byte("correct horse"), cheapParams)
	if !a.Equal(again) || a.Serial() != again.Serial() {
		t.Fatal("the same passphrase and parameters gave different keys")
	}
	otherSalt := cheapParams
	otherSalt.Salt[0] ^= 1
	for name, params := range map[string]password.Params{"passphrase": cheapParams, "salt": otherSalt} {
		pass := "correct horse"
		if name == "passphrase" {
			pass = "correct horsf"
		}
		b, err := DeriveSessionKey([]byte(pass), params)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(a.Bytes(), b.Bytes()) || a.Serial() == b.Serial() {
			t.Errorf("another %s gave the same key or serial", name)
		}
	}
	if a.Origin() != originDerived {
		t.Errorf("origin %d, want originDerived", a.Origin())
	}
	if p, ok := a.Params(); !ok || p != cheapParams {
		t.Errorf("Params() = %v, %v", p, ok)
	}
}

func TestDerivedSessionKeyFile(t *testing.T) {
	k, err := DeriveSessionKey([]byte("pw"), cheapParams)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseSessionKey(k.MarshalPEM())
	if err != nil {
		t.Fatal(err)
	}
	p, ok := got.Params()
	if !got.Equal(k) || !ok || p != cheapParams {
		t.Fatal("a derived key file does not round-trip with its parameters")
	}
	bin := k.Marshal()
	for i := range len(bin) {
		if _, err := ParseSessionKey(bin[:i]); err == nil {
			t.Fatalf("truncation to %d bytes accepted", i)
		}
	}
	if _, err := ParseSessionKey(append(bin, 0)); err == nil {
		t.Fatal("trailing byte accepted")
	}
}

func TestDeriveSessionKeyBounds(t *testing.T) {
	for name, p := range map[string]password.Params{
		"memory 2 GiB": {Time: 1, MemoryKiB: 2 << 20, Threads: 1},
		"time 1000":    {Time: 1000, MemoryKiB: password.MinMemoryKiB, Threads: 1},
		"threads 0":    {Time: 1, MemoryKiB: password.MinMemoryKiB, Threads: 0},
	} {
		// ErrParams comes only from the bounds check, which runs before
		// Argon2id: an absurd cost is refused without doing the work.
		if _, err := DeriveSessionKey([]byte("pw"), p); !errors.Is(err, password.ErrParams) {
			t.Errorf("%s: got %v, want password.ErrParams", name, err)
		}
	}
}
