package channel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"testing"
	"time"
)

// The misbehaving-peer suite: a real Conn over TCP on 127.0.0.1 against
// a scripted peer that runs an honest message-level Session and then
// breaks the protocol one way. Every case must end in its documented
// error (spec/channel.md section 2), with no panic and no goroutine left
// (goleak, TestMain).

// A misbehaviour is one scripted peer. Exactly one of client and server
// is set: client scripts a misbehaving client against a real server
// Conn, server a misbehaving server against a real client Conn.
type misbehaviour struct {
	name   string
	want   error
	client func(p *rawPeer)
	server func(p *rawPeer)
	// tweak changes the real end's config (and the script's peer
	// config, for its honest Session).
	tweak func(real, peer *Config)
}

// rawPeer is the scripted end: a raw TCP connection and an honest
// Session of the same role to make messages with.
type rawPeer struct {
	t    testing.TB
	conn net.Conn
	sess *Session
	fr   *frameReader
	cfg  *Config
}

// send sends msg in one frame.
func (p *rawPeer) send(msg []byte) {
	frame, at := appendFrame(nil)
	frame = append(frame, msg...)
	finishFrame(frame, at)
	p.conn.Write(frame)
}

// sendHeader sends a frame header claiming n bytes, and body.
func (p *rawPeer) sendHeader(n uint32, body []byte) {
	p.conn.Write(binary.BigEndian.AppendUint32(nil, n))
	p.conn.Write(body)
}

// recv returns the next frame, or nil if the real end closed.
func (p *rawPeer) recv() []byte {
	p.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	msg, err := p.fr.next(1 << 24)
	if err != nil {
		return nil
	}
	return bytes.Clone(msg)
}

// next returns the honest session's next handshake message.
func (p *rawPeer) next() []byte {
	msg, err := p.sess.NextHandshakeMessage()
	if err != nil || msg == nil {
		p.t.Errorf("scripted peer: no handshake message: %v", err)
	}
	return msg
}

// read gives the honest session the real end's message.
func (p *rawPeer) read(msg []byte) {
	if _, err := p.sess.ReadHandshakeMessage(msg); err != nil {
		p.t.Errorf("scripted peer: %v", err)
	}
}

// relay runs the honest handshake to its end: it passes messages until
// the peer's session is complete.
func (p *rawPeer) relay() {
	for !p.sess.HandshakeComplete() {
		if msg, _ := p.sess.NextHandshakeMessage(); msg != nil {
			p.send(msg)
			continue
		}
		msg := p.recv()
		if msg == nil {
			p.t.Error("scripted peer: the real end closed during an honest handshake")
			return
		}
		p.read(msg)
	}
}

// seal returns the honest session's record of data.
func (p *rawPeer) seal(data string) []byte {
	rec, err := p.sess.Seal(nil, []byte(data))
	if err != nil {
		p.t.Fatal(err)
	}
	return rec
}

// runMisbehaviours runs each case against the real end of baseline
// configs and checks its error.
func runMisbehaviours(t *testing.T, cases []misbehaviour, client, server func() *Config) {
	names := map[string]bool{}
	for _, mb := range cases {
		if names[mb.name] {
			t.Fatalf("duplicate case %q", mb.name)
		}
		names[mb.name] = true
		t.Run(mb.name, func(t *testing.T) {
			ccfg, scfg := client(), server()
			var err error
			if mb.client != nil {
				if mb.tweak != nil {
					mb.tweak(scfg, ccfg)
				}
				err = misbehavingClient(t, mb.client, ccfg, scfg)
			} else {
				if mb.tweak != nil {
					mb.tweak(ccfg, scfg)
				}
				err = misbehavingServer(t, mb.server, ccfg, scfg)
			}
			if !errors.Is(err, mb.want) {
				t.Errorf("got %v, want %v", err, mb.want)
			}
		})
	}
}

// misbehavingClient runs script as the client against a real server
// Conn and returns the server's first error: of its handshake, or of
// reading until the stream ends.
func misbehavingClient(t *testing.T, script func(*rawPeer), ccfg, scfg *Config) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	errs := make(chan error, 1)
	go func() {
		raw, err := l.Accept()
		if err != nil {
			errs <- err
			return
		}
		c, err := ServerConn(raw, scfg)
		if err != nil {
			raw.Close()
			errs <- err
			return
		}
		defer c.Close()
		errs <- firstError(c)
	}()
	raw, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sess, err := NewClientSession(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	script(&rawPeer{t: t, conn: raw, sess: sess, fr: newFrameReader(raw), cfg: ccfg})
	raw.Close()
	return waitError(t, errs)
}

// misbehavingServer runs script as the server against a real client
// Conn and returns the client's first error.
func misbehavingServer(t *testing.T, script func(*rawPeer), ccfg, scfg *Config) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	errs := make(chan error, 1)
	go func() {
		c, err := Dial("tcp", l.Addr().String(), ccfg)
		if err != nil {
			errs <- err
			return
		}
		defer c.Close()
		errs <- firstError(c)
	}()
	raw, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	sess, err := NewServerSession(scfg)
	if err != nil {
		t.Fatal(err)
	}
	script(&rawPeer{t: t, conn: raw, sess: sess, fr: newFrameReader(raw), cfg: scfg})
	raw.Close()
	return waitError(t, errs)
}

// firstError returns the error of the handshake, or of reading to the
// end of the stream (io.EOF for a clean end).
func firstError(c *Conn) error {
	if err := c.Handshake(); err != nil {
		return err
	}
	buf := make([]byte, 4096)
	for {
		if _, err := c.Read(buf); err != nil {
			return err
		}
	}
}

func waitError(t *testing.T, errs chan error) error {
	select {
	case err := <-errs:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("the real end did not finish")
		return nil
	}
}

// flip returns msg with bit 0 of byte i flipped (from the end if i < 0).
func flip(msg []byte, i int) []byte {
	msg = bytes.Clone(msg)
	if i < 0 {
		i += len(msg)
	}
	msg[i] ^= 1
	return msg
}

// lengthCases are the frame lengths every profile refuses or handles,
// sent by a misbehaving peer as its first message to the real end.
// A frame of exactly the bound is read and refused by what it holds
// (wantMax).
func lengthCases(handshakeMax int, wantMax error, first func(p *rawPeer)) []misbehaviour {
	var out []misbehaviour
	for _, tc := range []struct {
		name string
		n    uint32
		want error
	}{
		{"length 0", 0, ErrHandshake},
		{"length max (junk)", uint32(handshakeMax), wantMax},
		{"length max+1", uint32(handshakeMax) + 1, ErrTooLarge},
		{"length 2^31-1", 1<<31 - 1, ErrTooLarge},
		{"length 2^32-1", 1<<32 - 1, ErrTooLarge},
	} {
		body := make([]byte, 0)
		if tc.n == uint32(handshakeMax) {
			body = bytes.Repeat([]byte{0xee}, handshakeMax)
		}
		out = append(out, misbehaviour{name: tc.name, want: tc.want, client: func(p *rawPeer) {
			if first != nil {
				first(p)
			}
			p.sendHeader(tc.n, body)
			p.recv()
		}})
	}
	return out
}
