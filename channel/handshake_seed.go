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
	// seedMaxInitialPayload bounds the payload of the initial message:
	// the client's bulk belongs in the records that follow.
	seedMaxInitialPayload = 16 << 10
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
	peer *keyblob.Recipient   // the certified server, if any
	name string               // its certified name
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

func (c *seedClient) done() bool { return c.step == seedDone }

func (c *seedClient) maxFrame() int {
	if c.cfg.VerifyServerCertificate != nil {
		return seedMaxHello + v2MaxCertMessage
	}
	return seedMaxHello
}
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
	if err := c.checkChain(h); err != nil {
		return err
	}
	if err := c.checkSignature(h); err != nil {
		return err
	}
	c.step = seedHelloDone
	return nil
}

// checkChain, for a client that knows the server by a CA, verifies the
// chain after the key: the recipient it certifies is the server whose
// signature over the key the client then checks.
func (c *seedClient) checkChain(h *seedHello) error {
	if c.cfg.VerifyServerCertificate == nil {
		return nil
	}
	chain, sig, err := splitSeedChain(h.sig)
	if err != nil {
		return err
	}
	peer, err := c.cfg.VerifyServerCertificate(chain)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %w", ErrCertificate, err)
	case peer == nil || peer.Recipient == nil || !peer.Recipient.CanVerify():
		return fmt.Errorf("%w: the certified server has no signature key", ErrCertificate)
	}
	c.peer, c.name, h.sig = peer.Recipient, peer.Name, sig
	return nil
}

func (c *seedClient) checkSignature(h *seedHello) error {
	peer := c.cfg.Peer
	if c.peer != nil {
		peer = c.peer
	}
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
	if c.peer != nil {
		c.res.peer, c.res.peerName = c.peer, c.name
	}
	c.pub = nil
	c.step = seedDone
	return msg, nil
}

// seedServer is the server of the seed profile.
type seedServer struct {
	cfg   *Config
	ctx   context.Context // bounds the wait for a fresh key
	step  seedStep
	key   kemPrivate // this session's RSA key
	epoch *seedEpoch // identity mode: the key's epoch
	size  int        // its modulus size in bytes
	bits  int
	res   *handshakeResult
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

// maxFrame bounds the initial message far below the record bound: its
// payload is at most seedMaxInitialPayload (spec/channel.md section 3.1),
// so a handshake that never ends holds little.
func (s *seedServer) maxFrame() int {
	return s.size + seedRecordSize(min(s.cfg.maxMessage(), seedMaxInitialPayload))
}

// writeHello sends this session's key: in identity mode the epoch's key
// and hello (signed once per epoch), else a fresh key from the pool,
// signed when the identity signs. No key is generated here.
func (s *seedServer) writeHello() ([]byte, error) {
	if s.cfg.SeedKey == SeedKeyIdentity {
		return s.epochHello()
	}
	k, err := s.freshKey()
	if err != nil {
		return nil, err
	}
	s.key, _ = suite.KEMPrivateOf(k)
	s.setSize(k.Public().Bits())
	der, err := k.Public().MarshalPKIX()
	if err != nil {
		return nil, err
	}
	s.step = seedHelloDone
	return s.signHello(der)
}

func (s *seedServer) epochHello() ([]byte, error) {
	e, err := s.cfg.seedEpochNow()
	if err != nil {
		return nil, err
	}
	s.epoch, s.key = e, e.key
	s.setSize(e.bits)
	s.step = seedHelloDone
	return bytes.Clone(e.hello), nil
}

func (s *seedServer) setSize(bits int) { s.bits, s.size = bits, (bits+7)/8 }

func (s *seedServer) signHello(der []byte) ([]byte, error) {
	var err error
	h := &seedHello{der: der}
	if s.cfg.Certificate != nil {
		h.chain = marshalSeedChain(s.cfg.Certificate)
	}
	if id := s.cfg.Identity; id != nil && id.CanSign() {
		if h.sig, err = id.Sign(seedSignatureContext, der); err != nil {
			return nil, err
		}
	}
	return h.marshal(), nil
}

// freshKey takes this session's key from the test hook, Config.KeyPool
// or the process's pool of its size, waiting for one within the
// handshake's context.
func (s *seedServer) freshKey() (suite.ExchangePrivate, error) {
	if s.cfg.hooks != nil && s.cfg.hooks.seedKey != nil {
		return s.cfg.hooks.seedKey, nil
	}
	pool := s.cfg.KeyPool
	if pool == nil {
		var err error
		if pool, err = sharedPool(s.cfg.rsaBits()); err != nil {
			return nil, err
		}
	}
	return pool.take(s.ctx)
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

// recordReplay refuses, in identity mode, the keys of a session its
// epoch accepted already: the epoch's key would let a recorded initial
// message authenticate again (spec/channel.md section 3.8). Only
// authentic messages get here. Fresh keys need no record: a recording is
// wrapped to a key that no longer exists.
func (s *seedServer) recordReplay(secret []byte) error {
	if s.epoch == nil {
		return nil
	}
	return recordSeedSession(s.epoch, secret)
}
