package channel

import (
	"crypto/hmac"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/suite"
)

// The v2 handshake (spec/channel.md section 4.2):
//
//	client                                     server
//	phase 1: e_pub, enc_s, [C_pub]   ------->  readPhase1
//	readPhase2                       <-------  phase 2: enc_e, [enc_c], confirm_s
//	phase 3: confirm_c               ------->  readPhase3
//
// The client's handshake ends when phase 3 is written, the server's when
// it verified.

// v2MaxHandshake bounds every v2 handshake frame.
const v2MaxHandshake = 8192

type v2Step uint8

const (
	v2Start  v2Step = iota
	v2Phase1        // the client sent, or the server read, phase 1
	v2Phase2        // the client read, or the server sent, phase 2
	v2Done
)

// v2Client is the initiator.
type v2Client struct {
	cfg    *Config
	step   v2Step
	server *keyblob.Recipient // the pinned server; nil if insecure
	eAlg   *suite.Exchange
	eph    suite.ExchangePrivate
	t      *transcript
	ssS    []byte
	ks     *keySchedule
	res    *handshakeResult
}

func newV2Client(cfg *Config) (handshake, error) {
	c := &v2Client{cfg: cfg, server: cfg.Peer, eAlg: suite.Hybrid}
	if c.server == nil {
		c.t = newTranscript(0, nil)
	} else {
		alg := c.server.ExchangeAlg()
		c.t = newTranscript(uint8(alg), c.server.ExchangeKeyBytes())
		if alg == keyblob.ExchangeX25519 {
			c.eAlg = suite.X25519
		}
	}
	return c, nil
}

func (c *v2Client) next() ([]byte, error) {
	switch c.step {
	case v2Start:
		return c.writePhase1()
	case v2Phase2:
		return c.writePhase3(), nil
	}
	return nil, nil
}

func (c *v2Client) read(msg []byte) ([]byte, error) {
	if c.step != v2Phase1 {
		return nil, errProtocol("unexpected message from the server")
	}
	return nil, c.readPhase2(msg)
}

func (c *v2Client) done() bool               { return c.step == v2Done }
func (c *v2Client) maxFrame() int            { return v2MaxHandshake }
func (c *v2Client) result() *handshakeResult { return c.res }

// writePhase1 makes the ephemeral key and encapsulates to the server.
func (c *v2Client) writePhase1() ([]byte, error) {
	seed, err := c.cfg.random(suite.EphemeralSeedSize)
	if err != nil {
		return nil, err
	}
	if c.eph, err = c.eAlg.NewEphemeral(seed); err != nil {
		return nil, err
	}
	m := &phase1{eAlg: c.eAlg.ID, ePub: c.eph.Public().Bytes()}
	if c.server != nil {
		m.sAlg = uint8(c.server.ExchangeAlg())
		if m.encS, c.ssS, err = c.cfg.encapsulate(c.server, infoResponderStatic); err != nil {
			return nil, err
		}
	}
	if id := c.cfg.Identity; id != nil {
		m.cAlg = uint8(id.Recipient().ExchangeAlg())
		m.cPub = id.Recipient().ExchangeKeyBytes()
	}
	msg := m.marshal()
	c.t.add(msg)
	c.step = v2Phase1
	return msg, nil
}

// readPhase2 decapsulates and verifies the server's confirmation.
func (c *v2Client) readPhase2(msg []byte) error {
	m, err := parsePhase2(msg)
	if err != nil {
		return err
	}
	id := c.cfg.Identity
	if err := checkEncSize(m.encE, uint8(c.eAlg.ID), c.eph.Public().Bytes()); err != nil {
		return err
	}
	ephKEM, _ := suite.KEMPrivateOf(c.eph)
	ssE := decapsulate(ephKEM, m.encE, infoInitiatorEphemeral)
	var ssC []byte
	if id != nil {
		r := id.Recipient()
		if err := checkEncSize(m.encC, uint8(r.ExchangeAlg()), r.ExchangeKeyBytes()); err != nil {
			return err
		}
		ssC = decapsulate(id, m.encC, infoInitiatorStatic)
	} else if len(m.encC) != 0 {
		return errMalformed("phase 2 (an encapsulation to a client key that was not sent)")
	}
	c.ks = newKeySchedule(c.ssS, ssE, ssC)
	if !hmac.Equal(c.ks.responderConfirm(c.t.hash(m.marshalBody())), m.confirm) {
		return ErrAuth
	}
	c.t.add(msg)
	c.step = v2Phase2
	return nil
}

// writePhase3 confirms and derives the traffic keys.
func (c *v2Client) writePhase3() []byte {
	msg := (&phase3{confirm: c.ks.initiatorConfirm(c.t.hash(nil))}).marshal()
	c.t.add(msg)
	cts, sts := c.ks.traffic(c.t.hash(nil))
	c.res = &handshakeResult{
		send: newGCMHalf(cts, c.cfg), recv: newGCMHalf(sts, c.cfg),
		peer: c.server, mutual: c.cfg.Identity != nil,
	}
	c.eph, c.ks = nil, nil
	c.step = v2Done
	return msg
}

// v2Server is the responder.
type v2Server struct {
	cfg    *Config
	step   v2Step
	own    *keyblob.Recipient
	ePub   kemPublic
	client *keyblob.Recipient // the client's key in mutual mode
	t      *transcript
	ssS    []byte
	ks     *keySchedule
	res    *handshakeResult
}

func newV2Server(cfg *Config) (handshake, error) {
	return &v2Server{cfg: cfg, own: cfg.Identity.Recipient()}, nil
}

func (s *v2Server) next() ([]byte, error) {
	if s.step == v2Phase1 {
		return s.writePhase2()
	}
	return nil, nil
}

func (s *v2Server) read(msg []byte) ([]byte, error) {
	switch s.step {
	case v2Start:
		return nil, s.readPhase1(msg)
	case v2Phase2:
		return nil, s.readPhase3(msg)
	}
	return nil, errProtocol("unexpected message from the client")
}

func (s *v2Server) done() bool               { return s.step == v2Done }
func (s *v2Server) maxFrame() int            { return v2MaxHandshake }
func (s *v2Server) result() *handshakeResult { return s.res }

// readPhase1 checks the client's keys and authorization, then
// decapsulates the secret sent to this server.
func (s *v2Server) readPhase1(msg []byte) error {
	m, err := parsePhase1(msg)
	if err != nil {
		return err
	}
	if err := s.checkPhase1(m); err != nil {
		return err
	}
	if m.sAlg == 0 {
		s.t = newTranscript(0, nil)
	} else {
		s.t = newTranscript(m.sAlg, s.own.ExchangeKeyBytes())
		s.ssS = decapsulate(s.cfg.Identity, m.encS, infoResponderStatic)
	}
	s.t.add(msg)
	s.step = v2Phase1
	return nil
}

// checkPhase1 refuses a phase 1 this server cannot or will not answer,
// before any KEM work.
func (s *v2Server) checkPhase1(m *phase1) error {
	ownAlg := uint8(s.own.ExchangeAlg())
	switch {
	case m.eAlg != suite.HybridID && !(m.eAlg == suite.X25519ID && ownAlg == suite.X25519ID):
		return errProtocol("the client's ephemeral key is of an algorithm this server does not accept")
	case m.sAlg != 0 && m.sAlg != ownAlg:
		return errProtocol("the client expects a server key of another algorithm")
	}
	if m.sAlg != 0 {
		if err := checkEncSize(m.encS, ownAlg, s.own.ExchangeKeyBytes()); err != nil {
			return err
		}
	}
	ePub, err := suite.ExchangeByID(m.eAlg).ParsePublic(m.ePub)
	if err != nil {
		return errMalformed("phase 1 ephemeral key")
	}
	s.ePub, _ = suite.KEMPublicOf(ePub)
	if m.cAlg != 0 {
		if s.client, err = keyblob.ParseExchangeKey(keyblob.ExchangeAlg(m.cAlg), m.cPub); err != nil {
			return errMalformed("phase 1 client key")
		}
	}
	return s.authorize()
}

func (s *v2Server) authorize() error {
	switch {
	case s.cfg.Authorized == nil:
		return nil
	case s.client == nil:
		return errorUnauthorized("the client has no identity")
	}
	if err := s.cfg.Authorized(s.client); err != nil {
		return errorUnauthorized(err.Error())
	}
	return nil
}

// writePhase2 encapsulates to the client's keys and confirms.
func (s *v2Server) writePhase2() ([]byte, error) {
	m := &phase2{}
	var ssE, ssC []byte
	var err error
	if m.encE, ssE, err = s.cfg.encapsulate(s.ePub, infoInitiatorEphemeral); err != nil {
		return nil, err
	}
	if s.client != nil {
		if m.encC, ssC, err = s.cfg.encapsulate(s.client, infoInitiatorStatic); err != nil {
			return nil, err
		}
	}
	s.ks = newKeySchedule(s.ssS, ssE, ssC)
	m.confirm = s.ks.responderConfirm(s.t.hash(m.marshalBody()))
	msg := m.marshal()
	s.t.add(msg)
	s.step = v2Phase2
	return msg, nil
}

// readPhase3 verifies the client's confirmation and derives the traffic
// keys.
func (s *v2Server) readPhase3(msg []byte) error {
	m, err := parsePhase3(msg)
	if err != nil {
		return err
	}
	if !hmac.Equal(s.ks.initiatorConfirm(s.t.hash(nil)), m.confirm) {
		return ErrAuth
	}
	s.t.add(msg)
	cts, sts := s.ks.traffic(s.t.hash(nil))
	s.res = &handshakeResult{
		send: newGCMHalf(sts, s.cfg), recv: newGCMHalf(cts, s.cfg),
		peer: s.client, mutual: s.client != nil,
	}
	s.ks = nil
	s.step = v2Done
	return nil
}

// checkEncSize refuses an encapsulation of another size than the one to
// the key (alg, key) has: fixed for HPKE, the modulus size for RSA.
func checkEncSize(enc []byte, alg uint8, key []byte) error {
	e := suite.ExchangeByID(alg)
	want, _ := e.EncapsulatedSize()
	if e.KEM == nil {
		pub, err := e.ParsePublic(key)
		if err != nil {
			return errMalformed("key")
		}
		want = (pub.Bits() + 7) / 8
	}
	if len(enc) != want {
		return errMalformed("encapsulation (wrong size)")
	}
	return nil
}

// errorUnauthorized is an ErrUnauthorized that says why.
func errorUnauthorized(why string) error { return &unauthorizedError{why} }

type unauthorizedError struct{ why string }

func (e *unauthorizedError) Error() string        { return ErrUnauthorized.Error() + ": " + e.why }
func (e *unauthorizedError) Is(target error) bool { return target == ErrUnauthorized }
