package password

import (
	"bytes"
	"encoding/hex"
	"errors"
	"runtime"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/cryptobyte"
)

// cheap are the cheapest parameters within the limits, for tests that
// derive keys.
var cheap = Params{Time: MinTime, MemoryKiB: MinMemoryKiB, Threads: MinThreads, Salt: [SaltSize]byte{1, 2, 3}}

func with(f func(*Params)) Params {
	p := cheap
	f(&p)
	return p
}

var boundTests = []struct {
	name string
	p    Params
	ok   bool
}{
	{"cheapest", cheap, true},
	{"defaults", Defaults(), true},
	{"most expensive", Params{Time: MaxTime, MemoryKiB: MaxMemoryKiB, Threads: MaxThreads}, true},
	{"zero", Params{}, false},

	{"time min-1", with(func(p *Params) { p.Time = MinTime - 1 }), false},
	{"time min", with(func(p *Params) { p.Time = MinTime }), true},
	{"time min+1", with(func(p *Params) { p.Time = MinTime + 1 }), true},
	{"time max-1", with(func(p *Params) { p.Time = MaxTime - 1 }), true},
	{"time max", with(func(p *Params) { p.Time = MaxTime }), true},
	{"time max+1", with(func(p *Params) { p.Time = MaxTime + 1 }), false},
	{"time 2^32-1", with(func(p *Params) { p.Time = 1<<32 - 1 }), false},

	{"memory min-1", with(func(p *Params) { p.MemoryKiB = MinMemoryKiB - 1 }), false},
	{"memory min", with(func(p *Params) { p.MemoryKiB = MinMemoryKiB }), true},
	{"memory min+1", with(func(p *Params) { p.MemoryKiB = MinMemoryKiB + 1 }), true},
	{"memory max-1", with(func(p *Params) { p.MemoryKiB = MaxMemoryKiB - 1 }), true},
	{"memory max", with(func(p *Params) { p.MemoryKiB = MaxMemoryKiB }), true},
	{"memory max+1", with(func(p *Params) { p.MemoryKiB = MaxMemoryKiB + 1 }), false},
	{"memory 0", with(func(p *Params) { p.MemoryKiB = 0 }), false},
	{"memory 2^32-1", with(func(p *Params) { p.MemoryKiB = 1<<32 - 1 }), false},

	{"threads min-1", with(func(p *Params) { p.Threads = MinThreads - 1 }), false},
	{"threads min", with(func(p *Params) { p.Threads = MinThreads }), true},
	{"threads min+1", with(func(p *Params) { p.Threads = MinThreads + 1 }), true},
	{"threads max-1", with(func(p *Params) { p.Threads = MaxThreads - 1 }), true},
	{"threads max", with(func(p *Params) { p.Threads = MaxThreads }), true},
	{"threads max+1", with(func(p *Params) { p.Threads = MaxThreads + 1 }), false},
	{"threads 255", with(func(p *Params) { p.Threads = 255 }), false},

	// One bad field among maximal ones.
	{"max with time max+1", Params{Time: MaxTime + 1, MemoryKiB: MaxMemoryKiB, Threads: MaxThreads}, false},
	{"max with memory max+1", Params{Time: MaxTime, MemoryKiB: MaxMemoryKiB + 1, Threads: MaxThreads}, false},
	{"max with threads max+1", Params{Time: MaxTime, MemoryKiB: MaxMemoryKiB, Threads: MaxThreads + 1}, false},
}

func TestCheck(t *testing.T) {
	for _, tt := range boundTests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Check()
			switch {
			case tt.ok && err != nil:
				t.Fatalf("Check = %v, want nil", err)
			case !tt.ok && !errors.Is(err, ErrParams):
				t.Fatalf("Check = %v, want ErrParams", err)
			}
		})
	}
}

func TestLimitsAreConsistent(t *testing.T) {
	// Argon2 needs 8 KiB of memory per lane: the least memory allowed must
	// serve the most threads allowed.
	if MinMemoryKiB < 8*MaxThreads {
		t.Errorf("MinMemoryKiB %d < 8 × MaxThreads %d", MinMemoryKiB, MaxThreads)
	}
	if err := Defaults().Check(); err != nil {
		t.Errorf("Defaults(): %v", err)
	}
	if EncodedSize != 4+4+1+SaltSize {
		t.Errorf("EncodedSize = %d", EncodedSize)
	}
}

// TestKeyRefusesWithoutWork gives Key parameters out of bounds, most of
// them asking for the most work allowed and a little more: it must refuse
// at once, without allocating the memory.
func TestKeyRefusesWithoutWork(t *testing.T) {
	for _, tt := range boundTests {
		if tt.ok {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			k, err := tt.p.Key([]byte("passphrase"), 32)
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrParams) || k != nil {
				t.Fatalf("Key = %x, %v; want nil, ErrParams", k, err)
			}
			if elapsed > 100*time.Millisecond {
				t.Errorf("Key took %v to refuse", elapsed)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
				t.Errorf("Key allocated %d bytes to refuse", n)
			}
		})
	}
}

func TestKeyRefusesBadInput(t *testing.T) {
	tests := []struct {
		name string
		pass []byte
		n    uint32
	}{
		{"empty passphrase", nil, 32},
		{"empty passphrase (not nil)", []byte{}, 32},
		{"zero-length key", []byte("pass"), 0},
		{"key shorter than Argon2's minimum", []byte("pass"), 3},
		{"huge key", []byte("pass"), 1 << 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := cheap.Key(tt.pass, tt.n)
			if err == nil || k != nil {
				t.Fatalf("Key = %x, %v; want an error", k, err)
			}
		})
	}
}

func TestKey(t *testing.T) {
	pass := []byte("correct horse battery staple")
	k1, err := cheap.Key(pass, 32)
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) != 32 {
		t.Fatalf("key of %d bytes, want 32", len(k1))
	}
	k2, err := cheap.Key(bytes.Clone(pass), 32)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k1, k2) {
		t.Fatal("the same passphrase and parameters gave different keys")
	}
	for _, n := range []uint32{4, 16, 64, 65, 100} {
		if k, err := cheap.Key(pass, n); err != nil || len(k) != int(n) {
			t.Errorf("Key(_, %d) = %d bytes, %v", n, len(k), err)
		}
	}

	differ := []struct {
		name string
		p    Params
		pass []byte
	}{
		{"other salt", with(func(p *Params) { p.Salt[0] ^= 1 }), pass},
		{"other last salt byte", with(func(p *Params) { p.Salt[SaltSize-1] ^= 0x80 }), pass},
		{"other passphrase", cheap, []byte("correct horse battery stapler")},
		{"passphrase case", cheap, bytes.ToUpper(pass)},
		{"passphrase prefix", cheap, pass[:len(pass)-1]},
		{"other time", with(func(p *Params) { p.Time++ }), pass},
		{"other memory", with(func(p *Params) { p.MemoryKiB += 8 }), pass},
		{"other threads", with(func(p *Params) { p.Threads++; p.MemoryKiB = 2 * MinMemoryKiB }), pass},
	}
	for _, tt := range differ {
		t.Run(tt.name, func(t *testing.T) {
			k, err := tt.p.Key(tt.pass, 32)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(k, k1) {
				t.Fatal("same key")
			}
		})
	}
}

// TestKeyVector pins the derivation to Argon2id with each field in its
// place: a change of algorithm or a swap of parameters would make old
// messages unreadable. The expected keys were computed with
// golang.org/x/crypto/argon2.IDKey.
func TestKeyVector(t *testing.T) {
	salt := [SaltSize]byte{0: 0x01, 15: 0x10}
	tests := []struct {
		p    Params
		want string
	}{
		{Params{Time: 1, MemoryKiB: 8 << 10, Threads: 1, Salt: salt}, "3e561838212189cbbe012464f6892bb93cb5ece4a041f9e6c2c279d754e64737"},
		{Params{Time: 3, MemoryKiB: 64 << 10, Threads: 4, Salt: salt}, "65b6d2274427350c98b97774764bcd84bb6e1a7f7f154c003d85b6d02ba9434c"},
	}
	for _, tt := range tests {
		k, err := tt.p.Key([]byte("password"), 32)
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(k); got != tt.want {
			t.Errorf("Key(%+v) = %s, want %s", tt.p, got, tt.want)
		}
		want := argon2.IDKey([]byte("password"), tt.p.Salt[:], tt.p.Time, tt.p.MemoryKiB, tt.p.Threads, 32)
		if !bytes.Equal(k, want) {
			t.Errorf("Key(%+v) is not argon2.IDKey with the same parameters", tt.p)
		}
	}
	// A shorter key is not a prefix of a longer one: Argon2 binds the tag
	// length into its initial hash.
	k16, err := tests[0].p.Key([]byte("password"), 16)
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(k16) == tests[0].want[:32] {
		t.Error("the 16-byte key is a prefix of the 32-byte key")
	}
}

func encode(p Params) []byte {
	var b cryptobyte.Builder
	p.Append(&b)
	return b.BytesOrPanic()
}

func TestAppendRead(t *testing.T) {
	for _, p := range []Params{cheap, Defaults(), New(), {Time: MaxTime, MemoryKiB: MaxMemoryKiB, Threads: MaxThreads, Salt: [SaltSize]byte{0xff}}} {
		enc := encode(p)
		if len(enc) != EncodedSize {
			t.Fatalf("encoding of %d bytes, want %d", len(enc), EncodedSize)
		}
		s := cryptobyte.String(append(enc, "rest"...))
		got, err := Read(&s)
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		if got != p {
			t.Errorf("Read = %+v, want %+v", got, p)
		}
		if string(s) != "rest" {
			t.Errorf("Read left %q, want \"rest\"", s)
		}
	}
}

func TestAppendLayout(t *testing.T) {
	p := Params{Time: 0x01020304, MemoryKiB: 0x05060708, Threads: 0x09, Salt: [SaltSize]byte{0xa0, 15: 0xaf}}
	want := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xaf}
	if got := encode(p); !bytes.Equal(got, want) {
		t.Errorf("encoding %x, want %x", got, want)
	}
}

func TestReadTruncated(t *testing.T) {
	enc := encode(Defaults())
	for n := range len(enc) {
		s := cryptobyte.String(enc[:n])
		if _, err := Read(&s); err == nil {
			t.Errorf("Read of %d of %d bytes succeeded", n, len(enc))
		} else if errors.Is(err, ErrParams) {
			t.Errorf("Read of %d bytes: %v, which is not ErrParams", n, err)
		}
	}
}

func TestReadOutOfBounds(t *testing.T) {
	for _, tt := range boundTests {
		t.Run(tt.name, func(t *testing.T) {
			s := cryptobyte.String(encode(tt.p))
			_, err := Read(&s)
			switch {
			case tt.ok && err != nil:
				t.Fatalf("Read = %v, want nil", err)
			case !tt.ok && !errors.Is(err, ErrParams):
				t.Fatalf("Read = %v, want ErrParams", err)
			}
		})
	}
}

func TestNew(t *testing.T) {
	seen := map[[SaltSize]byte]bool{}
	for range 64 {
		p := New()
		if p.Time != Defaults().Time || p.MemoryKiB != Defaults().MemoryKiB || p.Threads != Defaults().Threads {
			t.Fatalf("New = %+v, not the defaults", p)
		}
		if p.Salt == ([SaltSize]byte{}) {
			t.Fatal("New gave a zero salt")
		}
		if seen[p.Salt] {
			t.Fatalf("New gave the salt %x twice", p.Salt)
		}
		seen[p.Salt] = true
	}
	if Defaults().Salt != ([SaltSize]byte{}) {
		t.Error("New changed Defaults()' salt")
	}
}
