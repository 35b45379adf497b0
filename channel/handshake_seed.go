package channel

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/suite"
)

// The seed handshake (spec/channel.md section 3.1):
//
//	server                                  client
//	hello: SPKI(rsa) [|| signature] ------> readHello
//	readInitial                     <------ initial: OAEP(aes_key || mac_key) || IV || MAC || C
//
// The client's handshake ends when the initial message is written, the
// server's when it authenticated.

const (
	// seedMaxHello bounds the hello frame: an RSA-4096 key and signature
	// take about 1.1 KiB.
	seedMaxHello = 4096
	// seedMaxIgnoredSig bounds what an insecure client skips after the
	// key.
	seedMaxIgnoredSig = 512
	seedKeySize       = 16 // AES-128 and MAC key sizes
)

type seedStep uint8

const (
	seedStart seedStep = iota
	seedHelloDone
	seedDone
)

// seedClient is the client of the seed profile.
type seedClient struct {
	cfg  *Config
	step seedStep
	pub  suite.ExchangePublic // the server's key of this session
	res  *handshakeResult
}

func newSeedClient(cfg *Config) (handshake, error) { return &seedClient{cfg: cfg}, nil }

func (c *seedClient) next() ([]byte, error) {
	if c.step == seedHelloDone {
		return c.writeInitial()
	}
	return nil, nil
}

func (c *seedClient) read(msg []byte) ([]byte, error) {
	if c.step != seedStart {
		return nil, errProtocol("unexpected message from the server")
	}
	return nil, c.readHello(msg)
}

func (c *seedClient) done() bool               { return c.step == seedDone }
func (c *seedClient) maxFrame() int            { return seedMaxHello }
func (c *seedClient) result() *handshakeResult { return c.res }

// readHello checks the server's key and, for a pinned server, its
// signature.
func (c *seedClient) readHello(msg []byte) error {
	h, err := parseSeedHello(msg)
	if err != nil {
		return err
	}
	if c.pub, err = parseSeedKey(h.der); err != nil {
		return err
	}
	if err := c.checkSignature(h); err != nil {
		return err
	}
	c.step = seedHelloDone
	return nil
}

func (c *seedClient) checkSignature(h *seedHello) error {
	peer := c.cfg.Peer
	switch {
	case peer == nil && len(h.sig) > seedMaxIgnoredSig:
		return errMalformed("seed hello (trailing data)")
	case peer == nil:
		return nil
	case len(h.sig) == 0:
		return fmt.Errorf("%w: the server's key is not signed", ErrNotSigned)
	case len(h.sig) != peer.SignatureSize():
		return errMalformed("seed hello (signature size)")
	}
	return peer.Verify(seedSignatureContext, h.der, h.sig)
}

// parseSeedKey reads the server's key: an RSA SubjectPublicKeyInfo of a
// supported size, in canonical DER.
func parseSeedKey(der []byte) (suite.ExchangePublic, error) {
	ex, _, err := suite.ParsePKIX(der)
	switch {
	case err != nil:
		return nil, errMalformed("seed server key (" + err.Error() + ")")
	case ex == nil || ex.Suite() != suite.RSAOAEP:
		return nil, errProtocol("the server's key is not an RSA key")
	}
	if canon, err := ex.MarshalPKIX(); err != nil || !bytes.Equal(canon, der) {
		return nil, errMalformed("seed server key (not canonical DER)")
	}
	return ex, nil
}

// writeInitial wraps fresh keys to the server's key and sends the
// initial message with an empty payload, the client's record 0.
func (c *seedClient) writeInitial() ([]byte, error) {
	kem, _ := suite.KEMPublicOf(c.pub)
	enc, secret, err := c.cfg.encapsulate(kem, "")
	if err != nil {
		return nil, err
	}
	send := newSeedHalf(secret[:seedKeySize], secret[seedKeySize:], dirClient, c.cfg)
	msg, err := send.sealPayload(enc, nil)
	if err != nil {
		return nil, err
	}
	c.res = &handshakeResult{
		send: send, recv: newSeedHalf(secret[:seedKeySize], secret[seedKeySize:], dirServer, c.cfg),
		peer: c.cfg.Peer, seedBits: c.pub.Bits(),
	}
	c.pub = nil
	c.step = seedDone
	return msg, nil
}

// seedServer is the server of the seed profile.
type seedServer struct {
	cfg  *Config
	ctx  context.Context // for Config.SeedReplay
	step seedStep
	key  kemPrivate // this session's RSA key
	size int        // its modulus size in bytes
	bits int
	res  *handshakeResult
}

func newSeedServer(cfg *Config) (handshake, error) {
	return &seedServer{cfg: cfg, ctx: context.Background()}, nil
}

func (s *seedServer) setContext(ctx context.Context) { s.ctx = ctx }

func (s *seedServer) next() ([]byte, error) {
	if s.step == seedStart {
		return s.writeHello()
	}
	return nil, nil
}

func (s *seedServer) read(msg []byte) ([]byte, error) {
	if s.step != seedHelloDone {
		return nil, errProtocol("unexpected message from the client")
	}
	return s.readInitial(msg)
}

func (s *seedServer) done() bool               { return s.step == seedDone }
func (s *seedServer) result() *handshakeResult { return s.res }

func (s *seedServer) maxFrame() int {
	return s.size + seedRecordSize(s.cfg.maxMessage())
}

// writeHello sends this session's key, signed when the identity signs.
// In identity mode the key never changes, and neither does the hello: it
// is signed once per identity (identityHellos).
func (s *seedServer) writeHello() ([]byte, error) {
	der, err := s.takeKey()
	if err != nil {
		return nil, err
	}
	s.step = seedHelloDone
	if s.cfg.SeedKey == SeedKeyIdentity {
		return identityHellos.get(s.cfg.Identity, func() ([]byte, error) { return s.signHello(der) })
	}
	return s.signHello(der)
}

func (s *seedServer) signHello(der []byte) ([]byte, error) {
	var err error
	h := &seedHello{der: der}
	if id := s.cfg.Identity; id != nil && id.CanSign() {
		if h.sig, err = id.Sign(seedSignatureContext, der); err != nil {
			return nil, err
		}
	}
	return h.marshal(), nil
}

// takeKey sets this session's key: the identity's, or a fresh one from
// the test hook, the pool, or key generation.
func (s *seedServer) takeKey() (der []byte, err error) {
	var pub suite.ExchangePublic
	if s.cfg.SeedKey == SeedKeyIdentity {
		id := s.cfg.Identity
		s.key = id
		pub, err = suite.RSAOAEP.ParsePublic(id.Recipient().ExchangeKeyBytes())
	} else {
		var k suite.ExchangePrivate
		if k, err = s.freshKey(); err == nil {
			s.key, _ = suite.KEMPrivateOf(k)
			pub = k.Public()
		}
	}
	if err != nil {
		return nil, err
	}
	s.bits, s.size = pub.Bits(), (pub.Bits()+7)/8
	return pub.MarshalPKIX()
}

func (s *seedServer) freshKey() (suite.ExchangePrivate, error) {
	switch {
	case s.cfg.hooks != nil && s.cfg.hooks.seedKey != nil:
		return s.cfg.hooks.seedKey, nil
	case s.cfg.KeyPool != nil:
		return s.cfg.KeyPool.take()
	}
	return suite.RSAOAEP.Generate(s.cfg.rsaBits())
}

// readInitial unwraps the keys and opens record 0. Whatever the outcome
// of the RSA decryption, it goes on to the MAC check with the keys it
// got or with random ones, so that every bad initial message fails the
// same way, after the same work (spec/channel.md section 3.6).
func (s *seedServer) readInitial(msg []byte) ([]byte, error) {
	if len(msg) < s.size+seedOverhead+seedBlock || (len(msg)-s.size)%seedBlock != 0 {
		return nil, ErrAuth
	}
	secret, err := s.key.Decapsulate(msg[:s.size], nil)
	if err != nil || len(secret) != 2*seedKeySize {
		secret = make([]byte, 2*seedKeySize)
		rand.Read(secret)
	}
	recv := newSeedHalf(secret[:seedKeySize], secret[seedKeySize:], dirClient, s.cfg)
	data, err := recv.openPayload(msg[s.size:])
	if err != nil {
		return nil, err
	}
	if err := s.recordReplay(secret); err != nil {
		return nil, err
	}
	s.res = &handshakeResult{
		send: newSeedHalf(secret[:seedKeySize], secret[seedKeySize:], dirServer, s.cfg), recv: recv,
		seedBits: s.bits,
	}
	s.key = nil
	s.step = seedDone
	return data, nil
}

// recordReplay refuses, in identity mode, the keys of a session already
// accepted: the static key lets a recorded initial message authenticate
// again (spec/channel.md section 3.7). Only authentic messages get here,
// so garbage cannot fill the cache. Fresh keys need no record: a
// recording is wrapped to a key that no longer exists.
func (s *seedServer) recordReplay(secret []byte) error {
	if s.cfg.SeedKey != SeedKeyIdentity {
		return nil
	}
	return s.cfg.recordSeedSession(s.ctx, secret)
}

// A seed server in identity mode decrypts with its keyblob.Identity.
var _ kemPrivate = (*keyblob.Identity)(nil)
