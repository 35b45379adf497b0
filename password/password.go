// Package password derives keys from passphrases with Argon2id (RFC 9106),
// with the parameters recorded beside the salt and bounded on decode, so
// that no input can demand unbounded work or memory. It also holds the one
// passphrase AEAD of the module (Params.Seal and Params.Open), whose key
// each use separates from the others by its own Label.
package password

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/keyblob/keyblob/internal/format"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/cryptobyte"
)

// SaltSize is the size of every salt.
const SaltSize = 16

// Limits on decoded parameters. They bound the work one input can demand:
// at most 1 GiB of memory and 16 passes.
const (
	MinTime      = 1
	MaxTime      = 16
	MinMemoryKiB = 8 << 10
	MaxMemoryKiB = 1 << 20
	MinThreads   = 1
	MaxThreads   = 16
)

// EncodedSize is the size of encoded Params.
const EncodedSize = 4 + 4 + 1 + SaltSize

// Params are Argon2id parameters and a salt: the parameter block of
// spec/keystore.md section 2. The zero value is invalid; use New, Read or
// ParseText.
type Params struct {
	Time      uint32 // passes
	MemoryKiB uint32
	Threads   uint8
	Salt      [SaltSize]byte
}

// Defaults returns RFC 9106's second recommended option: 3 passes over
// 64 MiB with 4 lanes, and a zero salt. It is a function, not a variable,
// so that no code can lower the costs for everyone.
func Defaults() Params { return Params{Time: 3, MemoryKiB: 64 << 10, Threads: 4} }

// ErrParams is returned for parameters outside the limits.
var ErrParams = errors.New("Argon2id parameters out of bounds")

// New returns the default parameters with a new random salt.
func New() Params {
	p := Defaults()
	rand.Read(p.Salt[:])
	return p
}

// Check reports whether p is within the limits.
func (p Params) Check() error {
	switch {
	case p.Time < MinTime || p.Time > MaxTime:
		return fmt.Errorf("%w: %d passes (allowed %d to %d)", ErrParams, p.Time, MinTime, MaxTime)
	case p.MemoryKiB < MinMemoryKiB || p.MemoryKiB > MaxMemoryKiB:
		return fmt.Errorf("%w: %d KiB of memory (allowed %d to %d)", ErrParams, p.MemoryKiB, MinMemoryKiB, MaxMemoryKiB)
	case p.Threads < MinThreads || p.Threads > MaxThreads:
		return fmt.Errorf("%w: %d threads (allowed %d to %d)", ErrParams, p.Threads, MinThreads, MaxThreads)
	}
	return nil
}

// Key sizes Key derives: Argon2's tag is at least 4 bytes (RFC 9106,
// 3.1), and no use needs more than a KiB.
const (
	minKeySize = 4
	maxKeySize = 1 << 10
)

// Key derives an n-byte key (4 to 1024) from the passphrase, whose bytes
// it uses as they are: no trimming, no Unicode normalization. It checks
// the limits first, and refuses an empty passphrase, before any work.
func (p Params) Key(passphrase []byte, n uint32) ([]byte, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	if len(passphrase) == 0 {
		return nil, errors.New("empty passphrase")
	}
	if n < minKeySize || n > maxKeySize {
		return nil, fmt.Errorf("key size of %d bytes (allowed %d to %d)", n, minKeySize, maxKeySize)
	}
	return argon2.IDKey(passphrase, p.Salt[:], p.Time, p.MemoryKiB, p.Threads, n), nil
}

// Append appends the encoding of p, the 25-byte parameter block of
// spec/keystore.md section 2: time, memory (u32 each), threads (u8) and
// the salt.
func (p Params) Append(b *cryptobyte.Builder) {
	b.AddUint32(p.Time)
	b.AddUint32(p.MemoryKiB)
	b.AddUint8(p.Threads)
	b.AddBytes(p.Salt[:])
}

// Read reads encoded Params from s and checks the limits.
func Read(s *cryptobyte.String) (Params, error) {
	var p Params
	var salt []byte
	if !s.ReadUint32(&p.Time) || !s.ReadUint32(&p.MemoryKiB) || !s.ReadUint8(&p.Threads) || !s.ReadBytes(&salt, SaltSize) {
		return p, errors.New("truncated Argon2id parameters")
	}
	copy(p.Salt[:], salt)
	return p, p.Check()
}

// textPrefix starts the text form of Params.
const textPrefix = "keyblob-argon2id/v1"

// String returns the one-line text form of p, for parameter files
// (spec/keystore.md section 9.3): "keyblob-argon2id/v1 t=3 m=65536 p=4
// salt=" and 32 hex digits.
func (p Params) String() string {
	return fmt.Sprintf("%s t=%d m=%d p=%d salt=%s", textPrefix, p.Time, p.MemoryKiB, p.Threads, hex.EncodeToString(p.Salt[:]))
}

// ParseText parses the String form strictly (one canonical spelling) and
// checks the limits before anything else is done with the parameters.
func ParseText(s string) (Params, error) {
	var p Params
	var salt string
	_, err := fmt.Sscanf(s, textPrefix+" t=%d m=%d p=%d salt=%s", &p.Time, &p.MemoryKiB, &p.Threads, &salt)
	raw, herr := hex.DecodeString(salt)
	if err != nil || herr != nil || len(raw) != SaltSize {
		return p, fmt.Errorf("%w parameters (want %q)", format.ErrMalformed, textPrefix+" t=N m=KIB p=N salt=HEX")
	}
	copy(p.Salt[:], raw)
	if p.String() != s {
		return p, errors.New("parameters not in canonical form")
	}
	return p, p.Check()
}
