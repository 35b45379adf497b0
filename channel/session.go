package channel

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/keyblob/keyblob"
)

// handshake is one role's handshake state in one profile. Its steps
// follow the protocol diagram of its file.
type handshake interface {
	// next returns the next message to send, or nil if none is due.
	next() ([]byte, error)
	// read takes the peer's next message and returns the data it carried
	// (the seed initial message's payload), if any.
	read(msg []byte) ([]byte, error)
	// done reports whether this end's handshake ended.
	done() bool
	// maxFrame bounds the next message read.
	maxFrame() int
	// result is set when done.
	result() *handshakeResult
}

// handshakeResult is what a handshake established.
type handshakeResult struct {
	send     sealer
	recv     opener
	peer     *keyblob.Recipient
	peerName string // the name the peer's certificate was verified for
	mutual   bool
	seedBits int
}

// A Session is one end of a channel at the message level, with no I/O:
// it makes and reads handshake messages, then seals and opens records.
// The caller moves each message to the peer as one unit (Conn frames
// them) in the order they are made.
//
// The handshake methods must be called from one goroutine. After the
// handshake, the sending methods (Seal, SealKeyUpdate, SealClose) may be
// called from one goroutine while Open is called from another; State may
// be called at any time after HandshakeComplete returned true.
type Session struct {
	cfg    *Config
	server bool
	hs     handshake
	res    *handshakeResult
	done   atomic.Bool
	err    error // a failed handshake's error, returned ever after
}

// NewClientSession returns the client end of a channel with cfg, or an
// error if cfg cannot run as a client.
func NewClientSession(cfg *Config) (*Session, error) { return newSession(cfg, false) }

// NewServerSession returns the server end of a channel with cfg, or an
// error if cfg cannot run as a server.
func NewServerSession(cfg *Config) (*Session, error) { return newSession(cfg, true) }

func newSession(cfg *Config, server bool) (*Session, error) {
	if err := cfg.check(server); err != nil {
		return nil, err
	}
	p := cfg.profile()
	newHandshake := p.newClient
	if server {
		newHandshake = p.newServer
	}
	hs, err := newHandshake(cfg)
	if err != nil {
		return nil, err
	}
	return &Session{cfg: cfg, server: server, hs: hs}, nil
}

// NextHandshakeMessage returns the next handshake message to send, or nil
// when it is the peer's turn or the handshake is complete. An error ends
// the session.
func (s *Session) NextHandshakeMessage() ([]byte, error) {
	if s.err != nil {
		return nil, s.err
	}
	msg, err := s.hs.next()
	return msg, s.step(err)
}

// ReadHandshakeMessage takes the peer's next handshake message. It returns
// the stream data the message carried: a seed client's initial message
// may carry some, which the server's reader must receive before any
// record's. msg may be overwritten. An error ends the session: see the
// errors of spec/channel.md section 2.
func (s *Session) ReadHandshakeMessage(msg []byte) ([]byte, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.hs.done() {
		return nil, s.fail(errProtocol("handshake message after the handshake"))
	}
	data, err := s.hs.read(msg)
	return data, s.step(err)
}

// setContext passes the handshake's context to a handshake that uses one
// (a seed server waits for a fresh key within it); a Session alone uses
// context.Background.
func (s *Session) setContext(ctx context.Context) {
	if h, ok := s.hs.(interface{ setContext(context.Context) }); ok {
		h.setContext(ctx)
	}
}

// step records a handshake step's outcome.
func (s *Session) step(err error) error {
	if err != nil {
		return s.fail(err)
	}
	if s.hs.done() && s.res == nil {
		s.res = s.hs.result()
		s.done.Store(true)
	}
	return nil
}

func (s *Session) fail(err error) error {
	s.err = err
	return err
}

// HandshakeComplete reports whether this end's handshake ended: it may
// seal records. (A v2 client's ends when it wrote phase 3, before the
// server verified it.)
func (s *Session) HandshakeComplete() bool { return s.done.Load() }

// MaxFrame returns the largest message the session accepts next: the
// bound a transport checks before it reads a message (spec/channel.md
// section 1).
func (s *Session) MaxFrame() int {
	if s.done.Load() {
		return s.res.recv.maxRecord()
	}
	return s.hs.maxFrame()
}

// errNotReady is returned for records sealed or opened before the
// handshake completed.
var errNotReady = errors.New("the channel handshake is not complete")

// Seal appends to dst the record of data, 1 to Limits.MaxMessage bytes.
// A v2 record that reaches a key limit is sent as a key update.
func (s *Session) Seal(dst, data []byte) ([]byte, error) {
	return s.seal(dst, RecordData, data)
}

// SealKeyUpdate appends to dst an empty key update record: after it, the
// records this end seals use the next key epoch. The seed profile has no
// key update (errors.ErrUnsupported).
func (s *Session) SealKeyUpdate(dst []byte) ([]byte, error) {
	return s.seal(dst, RecordKeyUpdate, nil)
}

// SealClose appends to dst the close record, this end's last.
func (s *Session) SealClose(dst []byte) ([]byte, error) {
	return s.seal(dst, RecordClose, nil)
}

// sealClose appends a close record giving reason: v2 carries it, seed
// has no room for it.
func (s *Session) sealClose(dst []byte, reason CloseReason) ([]byte, error) {
	if s.cfg.profile().id == Seed || reason == 0 {
		return s.SealClose(dst)
	}
	return s.seal(dst, RecordClose, []byte{byte(reason)})
}

func (s *Session) seal(dst []byte, typ RecordType, data []byte) ([]byte, error) {
	if !s.done.Load() {
		return dst, errNotReady
	}
	return s.res.send.seal(dst, typ, data)
}

// Open opens the peer's next record in place (record is overwritten) and
// returns its type and data, which alias record. Every record that does
// not authenticate gives ErrAuth and leaves the session as it was, so a
// forged record never advances the sequence number; a transport that
// cannot drop a message, as Conn, must end the channel. A v2 key update
// record moves the receiving key to the next epoch.
func (s *Session) Open(record []byte) (RecordType, []byte, error) {
	if !s.done.Load() {
		return 0, nil, errNotReady
	}
	return s.res.recv.open(record)
}

// ConnectionState describes a channel.
type ConnectionState struct {
	// Profile is the channel's profile.
	Profile Profile
	// HandshakeComplete reports whether this end's handshake ended; the
	// other fields are only set after it.
	HandshakeComplete bool
	// Peer is the authenticated peer: for a client the server recipient
	// it pinned (nil if insecure); for a v2 server the client's
	// exchange-only recipient in mutual mode, else nil.
	Peer *keyblob.Recipient
	// Mutual reports whether a v2 client authenticated itself.
	Mutual bool
	// SendEpoch and ReceiveEpoch are the key epochs of each direction:
	// 0 after the handshake, one more after each key update (always 0 for
	// seed).
	SendEpoch, ReceiveEpoch uint64
	// PeerName is the name the peer's certificate was verified for
	// (Config.VerifyServerCertificate, VerifyClientCertificate), or "".
	PeerName string
	// SeedKeyBits is the size of the seed server's RSA key.
	SeedKeyBits int
}

// State returns the state of the session.
func (s *Session) State() ConnectionState {
	st := ConnectionState{Profile: s.cfg.profile().id}
	if !s.done.Load() {
		return st
	}
	r := s.res
	st.HandshakeComplete = true
	st.Peer, st.PeerName, st.Mutual, st.SeedKeyBits = r.peer, r.peerName, r.mutual, r.seedBits
	st.SendEpoch, st.ReceiveEpoch = r.send.epoch(), r.recv.epoch()
	return st
}
