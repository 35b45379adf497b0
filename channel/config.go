package channel

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/suite"
)

// A Config configures one end of a channel. The zero value of every field
// means its documented default; a Config must not be changed once a
// Session or Conn uses it, and may then be shared by any number of them.
type Config struct {
	// Profile is the protocol, V2 if zero. Both ends must use the same.
	Profile Profile

	// Identity is this end's identity. A v2 server needs one with an
	// exchange key; a v2 client with one authenticates itself (mutual
	// mode). A seed server signs its session keys with it when it has a
	// signature key; SeedKeyIdentity needs one, to sign its epoch keys. A
	// seed client must not have one: the seed profile has no client
	// authentication.
	Identity *keyblob.Identity

	// Peer is, for a client, the server's recipient: the v2 client
	// encapsulates to its exchange key, the seed client verifies the
	// server key's signature with its signature key. A client without
	// Peer refuses to run unless Insecure is set. Servers ignore it (see
	// Authorized).
	Peer *keyblob.Recipient

	// Insecure lets a client without Peer connect to any server. Nothing
	// then authenticates the server: an active attacker can read and
	// change everything.
	Insecure bool

	// Authorized, if not nil, makes a v2 server accept only clients with
	// an identity for which it returns nil. It is called with the
	// client's exchange-only recipient (keyblob.ParseExchangeKey) as soon
	// as phase 1 names it, before any work for it; the session is only
	// established once the client proved it holds the key. A non-nil
	// error refuses the client with an error wrapping ErrUnauthorized.
	// AuthorizedKeys makes one from a list of recipients. Seed servers
	// refuse configs that set it.
	Authorized func(client *keyblob.Recipient) error

	// Certificate is this end's certificate chain (DER, leaf first, at
	// most 8), v2 only: a server sends it to a client that asks for it
	// (VerifyServerCertificate), a client sends it before phase 1 to a
	// server that verifies it (VerifyClientCertificate). Its leaf must
	// certify this end's Identity (spec/cert.md); the handshake proves
	// the key, the peer checks the chain.
	Certificate [][]byte

	// VerifyServerCertificate, for a v2 client without Peer, makes the
	// client ask the server for its chain (spec/channel.md section 4.8)
	// and verify it: the recipient it returns is then the pinned server
	// of this session, whose key the handshake proves. An error refuses
	// the server (wrapped in ErrCertificate).
	VerifyServerCertificate func(chain [][]byte) (*Certified, error)

	// VerifyClientCertificate, for a v2 server, verifies the chain of a
	// client that sends one; the client must then prove the exchange key
	// of the recipient it returns. A client so certified needs no
	// Authorized; with both set, either admits a client, and with this
	// alone a client without a certificate is refused.
	VerifyClientCertificate func(chain [][]byte) (*Certified, error)

	// SeedKey says which RSA key a seed server sends: a fresh key per
	// session (SeedKeyFresh, the default) or an epoch key its identity
	// signed, sent to every session of an epoch (SeedKeyIdentity).
	SeedKey SeedKey

	// SeedEpoch is how long an identity-mode seed server sends one epoch
	// key (DefaultSeedEpoch if zero, at most 7 days); an epoch also ends
	// after 65,536 sessions. The epoch's replay ids refuse a recorded
	// session replayed into a new connection; they and the key are
	// forgotten together when it ends, and live in memory only, so
	// nothing recorded before a restart opens after it (spec/channel.md
	// section 3.8).
	SeedEpoch time.Duration

	// RSABits is the size of seed keys, fresh or epoch: 2048 (if zero),
	// 3072 or 4096. A KeyPool, if set, must make keys of this size.
	RSABits int

	// KeyPool, if set, supplies a seed server's fresh keys. Without one,
	// the process's pool of the key size does (KeyPoolConfig's defaults):
	// no handshake ever generates a key.
	KeyPool *KeyPool

	// Rand is the source of the randomness the channel draws itself: v2
	// ephemeral key seeds and seed IVs. If nil, crypto/rand.Reader. The
	// primitives of Go's crypto packages (HPKE, RSA-OAEP, RSA key
	// generation, signatures) always use crypto/rand, as Go 1.26 ignores
	// other sources; testing/cryptotest.SetGlobalRandom fixes them in
	// tests. Rand must be safe for concurrent use when the Config is
	// shared. The protocol reads no clock (deadlines are the transport's;
	// identity-mode epochs end by the server's clock, which no message
	// carries).
	Rand io.Reader

	// Limits bounds the channel.
	Limits Limits

	// hooks let tests replace the channel's fresh secrets.
	hooks *testHooks
}

// Limits bounds a channel. Every zero field means its default.
type Limits struct {
	// MaxMessage is the largest record payload accepted, and the bound
	// of the payload a Conn puts into one record (at most 64 KiB of it).
	// 0 means DefaultMaxMessage; values outside MinMaxMessage to
	// MaxMaxMessage are refused. Both ends should use the same.
	MaxMessage int

	// HandshakeTimeout bounds a Conn's handshake. 0 means
	// DefaultHandshakeTimeout; a negative value means no bound beyond the
	// context's.
	HandshakeTimeout time.Duration

	// HandshakeMemory is the most bytes of handshake messages that all
	// the server Conns of one Listener hold while receiving them (0:
	// DefaultHandshakeMemory). A handshake whose next message would pass
	// it is refused (ErrOverloaded) before anything of it is read.
	HandshakeMemory int

	// IdleTimeout, if positive, closes a Conn on which no frame arrived
	// for a whole Read wait, or could be sent for a whole Write, of that
	// long (ErrIdle). 0 means no idle timeout.
	IdleTimeout time.Duration

	// KeyUpdateBytes and KeyUpdateRecords make a v2 sender update its key
	// after that many payload bytes or records under one key; 0 means,
	// and larger values are lowered to, 2^36 bytes and 2^32 records.
	KeyUpdateBytes, KeyUpdateRecords uint64
}

// Defaults and bounds of Limits.
const (
	DefaultMaxMessage       = 1 << 20
	MinMaxMessage           = 256
	MaxMaxMessage           = 16 << 20
	DefaultHandshakeTimeout = 10 * time.Second
	maxKeyUpdateBytes       = 1 << 36
	maxKeyUpdateRecords     = 1 << 32
)

// A SeedKey says which RSA key a seed server sends.
type SeedKey uint8

const (
	// SeedKeyFresh sends a fresh RSA key per session, from a KeyPool: the
	// source design, with forward secrecy per session, and a key
	// generation per connection (bounded by the pool's rate).
	SeedKeyFresh SeedKey = 0
	// SeedKeyIdentity sends an epoch key signed by the server identity,
	// the same to every session of an epoch (Config.SeedEpoch): one key
	// generation per epoch, forward secrecy per epoch, and a replay cache
	// per epoch that refuses a recorded session replayed into a new
	// connection (spec/channel.md section 3.8). Clients pin the identity
	// with Config.Peer.
	SeedKeyIdentity SeedKey = 1
)

// testHooks replace fresh secrets, for the vectors (vectors_test.go).
type testHooks struct {
	// encapsulate replaces every encapsulation.
	encapsulate func(to kemPublic, info []byte) (enc, secret []byte, err error)
	// seedKey is the fresh key of a seed server.
	seedKey suite.ExchangePrivate
}

// kemPublic and kemPrivate are the KEM operations the handshakes use:
// keyblob.Recipient and keyblob.Identity provide them for static keys,
// suite.KEMPublicOf and suite.KEMPrivateOf for ephemeral and seed keys.
type kemPublic interface {
	Encapsulate(info []byte) (enc, secret []byte, err error)
}

type kemPrivate interface {
	Decapsulate(enc, info []byte) ([]byte, error)
}

func (c *Config) rand() io.Reader {
	if c.Rand != nil {
		return c.Rand
	}
	return rand.Reader
}

// random returns n bytes of Config.Rand.
func (c *Config) random(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(c.rand(), b); err != nil {
		return nil, fmt.Errorf("reading randomness: %w", err)
	}
	return b, nil
}

func (c *Config) encapsulate(to kemPublic, info string) (enc, secret []byte, err error) {
	if c.hooks != nil && c.hooks.encapsulate != nil {
		return c.hooks.encapsulate(to, []byte(info))
	}
	enc, secret, err = to.Encapsulate([]byte(info))
	if err != nil {
		// The peer's key (a low-order X25519 part, say): spec/channel.md
		// section 2, "a key of the wrong kind".
		return nil, nil, fmt.Errorf("%w: encapsulating to the peer's key: %v", ErrHandshake, err)
	}
	return enc, secret, nil
}

// decapsulate returns the secret of enc, or on any failure 32 fresh
// random bytes (implicit rejection): a failed decapsulation is then found
// by the confirmation that depends on it, the same way and after the same
// work as a wrong secret (spec/channel.md section 4.1).
func decapsulate(k kemPrivate, enc []byte, info string) []byte {
	secret, err := k.Decapsulate(enc, []byte(info))
	if err != nil || len(secret) != suite.KEMSecretSize {
		secret = make([]byte, suite.KEMSecretSize)
		rand.Read(secret)
	}
	return secret
}

func (c *Config) profile() *profile { return c.Profile.lookup() }

func (c *Config) maxMessage() int {
	if c.Limits.MaxMessage == 0 {
		return DefaultMaxMessage
	}
	return c.Limits.MaxMessage
}

// sendChunk is the most payload a Conn puts in one record.
func (c *Config) sendChunk() int { return min(c.maxMessage(), 64<<10) }

func (c *Config) handshakeTimeout() time.Duration {
	if c.Limits.HandshakeTimeout == 0 {
		return DefaultHandshakeTimeout
	}
	return c.Limits.HandshakeTimeout
}

func (c *Config) keyUpdateBytes() uint64 {
	return limitOr(c.Limits.KeyUpdateBytes, maxKeyUpdateBytes)
}

func (c *Config) keyUpdateRecords() uint64 {
	return limitOr(c.Limits.KeyUpdateRecords, maxKeyUpdateRecords)
}

func limitOr(v, max uint64) uint64 {
	if v == 0 || v > max {
		return max
	}
	return v
}

func (c *Config) rsaBits() int {
	if c.RSABits == 0 {
		return 2048
	}
	return c.RSABits
}

// check refuses a config that cannot run in the given role.
func (c *Config) check(server bool) error {
	p := c.profile()
	switch {
	case p == nil:
		return fmt.Errorf("unknown channel profile %d", uint8(c.Profile))
	case c.Limits.MaxMessage != 0 && (c.Limits.MaxMessage < MinMaxMessage || c.Limits.MaxMessage > MaxMaxMessage):
		return fmt.Errorf("Limits.MaxMessage %d is outside %d to %d", c.Limits.MaxMessage, MinMaxMessage, MaxMaxMessage)
	case !server && c.Peer == nil && !c.Insecure && c.VerifyServerCertificate == nil:
		return errors.New("no server recipient: set Config.Peer or VerifyServerCertificate, or Config.Insecure to authenticate no server")
	case !server && (c.Peer != nil && c.Insecure || c.VerifyServerCertificate != nil && (c.Peer != nil || c.Insecure)):
		return errors.New("Config.Peer, VerifyServerCertificate and Insecure are exclusive")
	case server && c.VerifyServerCertificate != nil, !server && c.VerifyClientCertificate != nil:
		return errors.New("VerifyServerCertificate is for clients, VerifyClientCertificate for servers")
	case len(c.Certificate) > maxChainCerts:
		return fmt.Errorf("a certificate chain of %d certificates: at most %d", len(c.Certificate), maxChainCerts)
	}
	return p.check(c, server)
}

// checkV2 refuses what a v2 end cannot run.
func checkV2(c *Config, server bool) error {
	switch {
	case server && (c.Identity == nil || !c.Identity.CanExchange()):
		return errors.New("a v2 server needs an identity with an exchange key")
	case !server && c.Identity != nil && !c.Identity.CanExchange():
		return errors.New("a v2 client identity needs an exchange key")
	case !server && c.Peer != nil && !c.Peer.CanExchange():
		return errors.New("the server recipient has no exchange key")
	case !server && c.Authorized != nil:
		return errors.New("Config.Authorized is for servers")
	case c.SeedKey != SeedKeyFresh || c.KeyPool != nil || c.RSABits != 0 || c.SeedEpoch != 0:
		return errors.New("SeedKey, SeedEpoch, KeyPool and RSABits are for the seed profile")
	}
	return nil
}

// checkSeed refuses what a seed end cannot run.
func checkSeed(c *Config, server bool) error {
	switch {
	case c.Authorized != nil:
		return errors.New("the seed profile has no client authentication (Config.Authorized)")
	case c.VerifyClientCertificate != nil:
		return errors.New("the seed profile has no client authentication (VerifyClientCertificate)")
	case !server && c.Certificate != nil:
		return errors.New("the seed profile has no client authentication (a client Certificate)")
	case server && c.Certificate != nil && (c.Identity == nil || !c.Identity.CanSign()):
		return errors.New("a seed server's Certificate needs an identity that signs its key")
	case !server && c.Identity != nil:
		return errors.New("the seed profile has no client authentication (client Config.Identity)")
	case !server && c.Peer != nil && !c.Peer.CanVerify():
		return errors.New("a seed client verifies the server with its signature key: the server recipient has none")
	case !server:
		return nil
	case c.SeedKey == SeedKeyIdentity:
		return checkSeedIdentity(c)
	case c.SeedKey != SeedKeyFresh:
		return fmt.Errorf("unknown SeedKey %d", c.SeedKey)
	case c.SeedEpoch != 0:
		return errors.New("SeedEpoch is for SeedKeyIdentity")
	}
	return checkRSABits(c)
}

func checkRSABits(c *Config) error {
	switch {
	case c.rsaBits() != 2048 && c.rsaBits() != 3072 && c.rsaBits() != 4096:
		return fmt.Errorf("RSABits %d: want 2048, 3072 or 4096", c.RSABits)
	case c.KeyPool != nil && c.KeyPool.Bits() != c.rsaBits():
		return fmt.Errorf("the key pool makes %d-bit keys, RSABits is %d", c.KeyPool.Bits(), c.rsaBits())
	}
	return nil
}

func checkSeedIdentity(c *Config) error {
	switch {
	case c.Identity == nil || !c.Identity.CanSign():
		return errors.New("SeedKeyIdentity needs a server identity with a signature key, to sign its epoch keys")
	case c.KeyPool != nil:
		return errors.New("SeedKeyIdentity makes its epoch keys: KeyPool is for fresh keys")
	case c.SeedEpoch < 0 || c.SeedEpoch > maxSeedEpoch:
		return fmt.Errorf("SeedEpoch %v: want up to %v", c.SeedEpoch, maxSeedEpoch)
	}
	return checkRSABits(c)
}

// AuthorizedKeys returns an Authorized function that accepts exactly the
// clients whose exchange key is one of the recipients' (compared by
// exchange fingerprint).
func AuthorizedKeys(recipients ...*keyblob.Recipient) func(*keyblob.Recipient) error {
	set := make(map[keyblob.Fingerprint]bool, len(recipients))
	for _, r := range recipients {
		if r.CanExchange() {
			set[r.ExchangeFingerprint()] = true
		}
	}
	return func(client *keyblob.Recipient) error {
		if !set[client.ExchangeFingerprint()] {
			return fmt.Errorf("%s is not in the authorized set", client.Fingerprint())
		}
		return nil
	}
}
