package channel

import (
	"bytes"
	"crypto/hmac"
	"fmt"

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
	v2AwaitCert // the client asked for the server's certificate
	v2CertAsked // the server was asked for its certificate
)

// v2Client is the initiator.
type v2Client struct {
	cfg    *Config
	step   v2Step
	server *keyblob.Recipient // the pinned server; nil if insecure
	name   string             // the server's certified name
	pre    [][]byte           // certificate messages before phase 1
	asked  bool               // the certificate request is sent
	sent   bool               // this client's certificate is sent
	eAlg   *suite.Exchange
	eph    suite.ExchangePrivate
	t      *transcript
	ssS    []byte
	ks     *keySchedule
	res    *handshakeResult
}

func newV2Client(cfg *Config) (handshake, error) {
	return &v2Client{cfg: cfg, server: cfg.Peer, eAlg: suite.Hybrid}, nil
}

// startTranscript begins the transcript with the prologue of the server
// key the client now knows (pinned or certified), then the certificate
// messages, and picks the ephemeral algorithm for that key.
func (c *v2Client) startTranscript() {
	if c.server == nil {
		c.t = newTranscript(0, nil)
	} else {
		alg := c.server.ExchangeAlg()
		c.t = newTranscript(uint8(alg), c.server.ExchangeKeyBytes())
		if alg == keyblob.ExchangeX25519 {
			c.eAlg = suite.X25519
		}
	}
	for _, m := range c.pre {
		c.t.add(m)
	}
}

func (c *v2Client) next() ([]byte, error) {
	switch {
	case c.step == v2Start && c.server == nil && c.cfg.VerifyServerCertificate != nil && !c.asked:
		c.asked, c.step = true, v2AwaitCert
		return c.keep([]byte{typeCertRequest}), nil
	case c.step == v2Start && c.cfg.Certificate != nil && !c.sent:
		c.sent = true
		return c.keep(marshalCertificate(typeClientCertificate, c.cfg.Certificate)), nil
	case c.step == v2Start:
		return c.writePhase1()
	case c.step == v2Phase2:
		return c.writePhase3(), nil
	}
	return nil, nil
}

// keep remembers a message sent before phase 1, for the transcript.
func (c *v2Client) keep(msg []byte) []byte {
	c.pre = append(c.pre, msg)
	return msg
}

func (c *v2Client) read(msg []byte) ([]byte, error) {
	switch c.step {
	case v2AwaitCert:
		return nil, c.readServerCertificate(msg)
	case v2Phase1:
		return nil, c.readPhase2(msg)
	}
	return nil, errProtocol("unexpected message from the server")
}

// readServerCertificate verifies the server's chain: the recipient it
// certifies is the server of this session, whose exchange key phase 1
// encapsulates to, so only the holder of that key can confirm.
func (c *v2Client) readServerCertificate(msg []byte) error {
	chain, err := parseCertificate(typeServerCertificate, msg)
	if err != nil {
		return err
	}
	peer, err := c.cfg.VerifyServerCertificate(chain)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %w", ErrCertificate, err)
	case peer == nil || peer.Recipient == nil || !peer.Recipient.CanExchange():
		return fmt.Errorf("%w: the certified server has no exchange key", ErrCertificate)
	}
	c.server, c.name = peer.Recipient, peer.Name
	c.pre = append(c.pre, bytes.Clone(msg))
	c.step = v2Start
	return nil
}

func (c *v2Client) done() bool { return c.step == v2Done }

func (c *v2Client) maxFrame() int {
	if c.step == v2AwaitCert {
		return v2MaxCertMessage
	}
	return v2MaxHandshake
}
func (c *v2Client) result() *handshakeResult { return c.res }

// writePhase1 makes the ephemeral key and encapsulates to the server.
func (c *v2Client) writePhase1() ([]byte, error) {
	c.startTranscript()
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
		peer: c.server, peerName: c.name, mutual: c.cfg.Identity != nil,
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
	cert   *Certified         // the client's certified identity
	pre    [][]byte           // certificate messages before phase 1
	asked  bool               // the client asked for this server's certificate
	t      *transcript
	ssS    []byte
	ks     *keySchedule
	res    *handshakeResult
}

func newV2Server(cfg *Config) (handshake, error) {
	return &v2Server{cfg: cfg, own: cfg.Identity.Recipient()}, nil
}

func (s *v2Server) next() ([]byte, error) {
	switch s.step {
	case v2CertAsked:
		msg := marshalCertificate(typeServerCertificate, s.cfg.Certificate)
		s.pre = append(s.pre, msg)
		s.step = v2Start
		return msg, nil
	case v2Phase1:
		return s.writePhase2()
	}
	return nil, nil
}

func (s *v2Server) read(msg []byte) ([]byte, error) {
	switch {
	case s.step == v2Start && len(msg) > 0 && msg[0] == typeCertRequest:
		return nil, s.readCertRequest(msg)
	case s.step == v2Start && len(msg) > 0 && msg[0] == typeClientCertificate:
		return nil, s.readClientCertificate(msg)
	case s.step == v2Start:
		return nil, s.readPhase1(msg)
	case s.step == v2Phase2:
		return nil, s.readPhase3(msg)
	}
	return nil, errProtocol("unexpected message from the client")
}

// readCertRequest takes the client's request for this server's chain,
// which comes first if at all.
func (s *v2Server) readCertRequest(msg []byte) error {
	switch {
	case len(msg) != 1:
		return errMalformed("certificate request")
	case s.asked || len(s.pre) != 0:
		return errProtocol("unexpected certificate request")
	case s.cfg.Certificate == nil:
		return errProtocol("the client asks for a certificate, and this server has none")
	}
	s.asked, s.step = true, v2CertAsked
	s.pre = append(s.pre, bytes.Clone(msg))
	return nil
}

// readClientCertificate verifies a client's chain; phase 1 must then
// name the key it certifies.
func (s *v2Server) readClientCertificate(msg []byte) error {
	if s.cert != nil || s.cfg.VerifyClientCertificate == nil {
		return errProtocol("unexpected client certificate")
	}
	chain, err := parseCertificate(typeClientCertificate, msg)
	if err != nil {
		return err
	}
	cert, err := s.cfg.VerifyClientCertificate(chain)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %w: %w", ErrUnauthorized, ErrCertificate, err)
	case cert == nil || cert.Recipient == nil || !cert.Recipient.CanExchange():
		return fmt.Errorf("%w: %w: the certified client has no exchange key", ErrUnauthorized, ErrCertificate)
	}
	s.cert = cert
	s.pre = append(s.pre, bytes.Clone(msg))
	return nil
}

func (s *v2Server) done() bool { return s.step == v2Done }

func (s *v2Server) maxFrame() int {
	if s.step == v2Start && s.cfg.VerifyClientCertificate != nil {
		return v2MaxCertMessage
	}
	return v2MaxHandshake
}
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
	for _, p := range s.pre {
		s.t.add(p)
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
	case m.sAlg == 0 && s.asked:
		return errProtocol("a client that asked for the certificate must encapsulate to the key it names")
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

// authorize admits the client of phase 1: by its certificate, whose key
// it must then be, or by Authorized.
func (s *v2Server) authorize() error {
	switch {
	case s.cert != nil && (s.client == nil || !bytes.Equal(s.client.ExchangeKeyBytes(), s.cert.Recipient.ExchangeKeyBytes()) ||
		s.client.ExchangeAlg() != s.cert.Recipient.ExchangeAlg()):
		return fmt.Errorf("%w: %w: phase 1 names another key than the client's certificate", ErrUnauthorized, ErrCertificate)
	case s.cert != nil:
		s.client = s.cert.Recipient
		return nil
	case s.cfg.Authorized == nil && s.cfg.VerifyClientCertificate == nil:
		return nil
	case s.client == nil:
		return errorUnauthorized("the client has no identity")
	case s.cfg.Authorized == nil:
		return errorUnauthorized("the client sent no certificate")
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
		peer: s.client, peerName: s.certName(), mutual: s.client != nil,
	}
	s.ks = nil
	s.step = v2Done
	return nil
}

func (s *v2Server) certName() string {
	if s.cert == nil {
		return ""
	}
	return s.cert.Name
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
