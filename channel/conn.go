package channel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// A Conn is a channel over a net.Conn: each handshake message and record
// in one frame (spec/channel.md section 1). The handshake runs on the
// first Read or Write, or on Handshake. Read and Write may be called
// concurrently with each other (full duplex), and every method may be
// called concurrently with the others, as net.Conn requires.
//
// Any failure ends the connection without sending anything: the peer
// observes the transport closing. A timeout is not a failure: a Read or
// Write that times out may be retried, and a frame partly written stays
// queued, so the stream stays whole.
type Conn struct {
	conn   net.Conn
	cfg    *Config
	sess   *Session
	server bool

	handshakeMu   sync.Mutex
	handshakeErr  error
	handshakeDone atomic.Bool
	budget        *memBudget // the Listener's, or nil
	reserved      int        // bytes of budget held, under handshakeMu

	// activeCall is as in crypto/tls: bit 0 is set once Close was called,
	// the rest counts the Writes in flight, so that a Close racing a
	// blocked Write does not wait for the write lock.
	activeCall atomic.Int32

	fatalOnce sync.Once
	fatal     atomic.Pointer[error] // the error that ended the connection

	read, written atomic.Int64 // stream bytes returned by Read, taken by Write

	in struct {
		sync.Mutex
		frames  *frameReader
		pending []byte // opened data not yet returned
		err     error  // sticky: io.EOF after a close record, ErrTruncated, ...
	}
	out struct {
		sync.Mutex
		buf       []byte // sealed frames; buf[off:] is not written yet
		off       int
		err       error
		closeSent bool
	}
	deadlines struct {
		sync.Mutex
		read, write time.Time // as the user set them
	}
}

// closeTimeout bounds the sending of the close record by Close.
const closeTimeout = 5 * time.Second

// maxWriteBatch is how much a Write seals before it writes to the
// transport.
const maxWriteBatch = 256 << 10

func newConn(conn net.Conn, cfg *Config, server bool) (*Conn, error) {
	sess, err := newSession(cfg, server)
	if err != nil {
		return nil, err
	}
	c := &Conn{conn: conn, cfg: cfg, sess: sess, server: server}
	c.in.frames = newFrameReader(conn)
	return c, nil
}

// LocalAddr returns the local address of the transport.
func (c *Conn) LocalAddr() net.Addr { return c.conn.LocalAddr() }

// RemoteAddr returns the remote address of the transport.
func (c *Conn) RemoteAddr() net.Addr { return c.conn.RemoteAddr() }

// NetConn returns the transport. Writing to it or reading from it breaks
// the channel.
func (c *Conn) NetConn() net.Conn { return c.conn }

// ConnectionState returns the state of the channel; its fields past
// Profile are set once the handshake is complete.
func (c *Conn) ConnectionState() ConnectionState {
	if !c.handshakeDone.Load() {
		return ConnectionState{Profile: c.cfg.profile().id}
	}
	return c.sess.State()
}

// Handshake runs the handshake if it has not run yet; see
// HandshakeContext.
func (c *Conn) Handshake() error { return c.HandshakeContext(context.Background()) }

// HandshakeContext runs the handshake if it has not run yet, within
// Limits.HandshakeTimeout and until ctx is done, either of which closes
// the connection. A failed handshake closes the connection, and its error
// is returned by every later call.
func (c *Conn) HandshakeContext(ctx context.Context) (err error) {
	if c.handshakeDone.Load() {
		return nil
	}
	c.handshakeMu.Lock()
	defer c.handshakeMu.Unlock()
	if c.handshakeErr != nil || c.handshakeDone.Load() {
		return c.handshakeErr
	}
	if d := c.cfg.handshakeTimeout(); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	stop := context.AfterFunc(ctx, func() { c.conn.Close() })
	c.sess.setContext(ctx)
	err = c.runHandshake()
	c.release()
	if !stop() {
		err = fmt.Errorf("%w: %w", ErrHandshake, context.Cause(ctx))
	}
	if err != nil {
		c.handshakeErr = err
		c.fail(err)
		return err
	}
	c.handshakeDone.Store(true)
	return nil
}

// runHandshake moves handshake messages until this end's handshake is
// complete.
func (c *Conn) runHandshake() error {
	c.in.Lock()
	defer c.in.Unlock()
	c.out.Lock()
	defer c.out.Unlock()
	for !c.sess.HandshakeComplete() {
		msg, err := c.sess.NextHandshakeMessage()
		if err != nil {
			return err
		}
		if msg != nil {
			if err := c.writeMessage(msg); err != nil {
				return fmt.Errorf("%w: %w", ErrHandshake, err)
			}
			continue
		}
		if err := c.readHandshakeMessage(); err != nil {
			return err
		}
	}
	return nil
}

func (c *Conn) writeMessage(msg []byte) error {
	frame, at := appendFrame(make([]byte, 0, frameHeader+len(msg)))
	frame = append(frame, msg...)
	finishFrame(frame, at)
	_, err := c.conn.Write(frame)
	return err
}

func (c *Conn) readHandshakeMessage() error {
	max := c.sess.MaxFrame()
	size, err := c.in.frames.header(max)
	if err == nil {
		err = c.reserve(size)
	}
	var msg []byte
	if err == nil {
		msg, err = c.in.frames.next(max)
	}
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return fmt.Errorf("%w: the peer closed the connection during the handshake", ErrHandshake)
	case err == errEmptyFrame:
		return errMalformed("handshake message (empty frame)")
	case errors.Is(err, ErrTooLarge), errors.Is(err, ErrOverloaded):
		return err
	case err != nil:
		return fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	data, err := c.sess.ReadHandshakeMessage(msg)
	if err != nil {
		return err
	}
	c.in.pending = data
	return nil
}

// fail ends the connection: it closes the transport without sending
// anything, and every later Read and Write returns err.
func (c *Conn) fail(err error) {
	c.fatalOnce.Do(func() {
		c.fatal.Store(&err)
		c.conn.Close()
	})
}

func (c *Conn) fatalErr() error {
	if p := c.fatal.Load(); p != nil {
		return *p
	}
	return nil
}

// Read reads stream data. It returns io.EOF only after the peer's close
// record (a *CloseError after one that gives a reason), ErrTruncated if
// the transport ended without one, and ErrAuth (closing the connection)
// for any record that does not authenticate.
func (c *Conn) Read(p []byte) (int, error) {
	if err := c.Handshake(); err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	c.in.Lock()
	defer c.in.Unlock()
	for len(c.in.pending) == 0 {
		if c.in.err != nil {
			return 0, c.in.err
		}
		if err := c.fatalErr(); err != nil {
			return 0, err
		}
		if err := c.readRecord(); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.in.pending)
	c.in.pending = c.in.pending[n:]
	c.read.Add(int64(n))
	return n, nil
}

// readRecord reads and opens one record.
func (c *Conn) readRecord() error {
	idle := c.armIdle(true)
	frame, err := c.in.frames.next(c.sess.MaxFrame())
	if err != nil {
		return c.readError(err, idle)
	}
	typ, data, err := c.sess.Open(frame)
	switch {
	case err != nil:
		c.fail(err)
		return err
	case typ == RecordClose:
		c.in.err, data = closeErr(data), nil
	}
	c.in.pending = data
	return nil
}

// readError sorts the errors of reading a frame: timeouts leave the
// connection as it is, everything else ends the reading direction or the
// connection.
func (c *Conn) readError(err error, idle bool) error {
	switch {
	case isTimeout(err) && idle:
		c.closeWith(CloseIdle, ErrIdle)
		return ErrIdle
	case isTimeout(err):
		return err
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		c.in.err = ErrTruncated
		return ErrTruncated
	case err == errEmptyFrame:
		c.fail(ErrAuth)
		return ErrAuth
	case errors.Is(err, ErrTooLarge):
		c.fail(err)
	default:
		if fatal := c.fatalErr(); fatal != nil {
			return fatal
		}
		c.in.err = err
	}
	return err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Write seals p into records of at most min(Limits.MaxMessage, 64 KiB)
// bytes and sends them. The count it returns includes data sealed into a
// frame that a timeout interrupted: that frame stays queued and is sent
// first by the next Write or by Close.
func (c *Conn) Write(p []byte) (int, error) {
	n := 0
	err := c.writing(func() error {
		if err := c.writable(); err != nil {
			return err
		}
		for n < len(p) {
			sealed, err := c.sealBatch(p[n:])
			n += sealed
			if err != nil {
				return err
			}
			if err := c.flush(); err != nil {
				return err
			}
		}
		return nil
	})
	c.written.Add(int64(n))
	return n, err
}

// writing runs f as a writing call: counted in flight (so that Close
// does not send its close record under it), after the handshake, with
// the write side locked. It is net.ErrClosed after Close.
func (c *Conn) writing(f func() error) error {
	if !c.enterWrite() {
		return net.ErrClosed
	}
	defer c.activeCall.Add(-2)
	if err := c.Handshake(); err != nil {
		return err
	}
	c.out.Lock()
	defer c.out.Unlock()
	return f()
}

// enterWrite counts a writing call in flight, or reports false if Close
// was called.
func (c *Conn) enterWrite() bool {
	for {
		x := c.activeCall.Load()
		if x&1 != 0 {
			return false
		}
		if c.activeCall.CompareAndSwap(x, x+2) {
			return true
		}
	}
}

// writable returns the error that stops a write before it seals
// anything: an earlier failure, the close record sent, a frame left by a
// timeout that still cannot be sent, or a write deadline that passed.
func (c *Conn) writable() error {
	switch {
	case c.fatalErr() != nil:
		return c.fatalErr()
	case c.out.err != nil:
		return c.out.err
	case c.out.closeSent:
		return errSealClosed
	}
	if err := c.flush(); err != nil {
		return err
	}
	c.deadlines.Lock()
	d := c.deadlines.write
	c.deadlines.Unlock()
	if !d.IsZero() && !time.Now().Before(d) {
		return os.ErrDeadlineExceeded
	}
	return nil
}

// sealBatch seals up to maxWriteBatch bytes of p into frames.
func (c *Conn) sealBatch(p []byte) (int, error) {
	chunk, n := c.cfg.sendChunk(), 0
	for n < len(p) && len(c.out.buf) < maxWriteBatch {
		data := p[n:min(len(p), n+chunk)]
		buf, at := appendFrame(c.out.buf)
		buf, err := c.sess.Seal(buf, data)
		if err != nil {
			c.out.buf = buf[:at]
			c.out.err = err
			return n, err
		}
		finishFrame(buf, at)
		c.out.buf = buf
		n += len(data)
	}
	return n, nil
}

// flush writes the queued frames. A timeout keeps what is left queued.
func (c *Conn) flush() error {
	idle := c.armIdle(false)
	for c.out.off < len(c.out.buf) {
		n, err := c.conn.Write(c.out.buf[c.out.off:])
		c.out.off += n
		switch {
		case err == nil:
		case isTimeout(err) && idle:
			c.fail(ErrIdle)
			return ErrIdle
		case isTimeout(err):
			return err
		default:
			if fatal := c.fatalErr(); fatal != nil {
				return fatal
			}
			c.out.err = err
			return err
		}
	}
	c.out.buf, c.out.off = c.out.buf[:0], 0
	if cap(c.out.buf) > 2*maxWriteBatch {
		c.out.buf = nil
	}
	return nil
}

// UpdateKey sends a key update record: the records this end sends after
// it use the next key epoch (v2; the seed profile has none:
// errors.ErrUnsupported).
func (c *Conn) UpdateKey() error {
	return c.writing(func() error { return c.sendRecord(c.sess.SealKeyUpdate) })
}

// sendRecord seals one record with seal and sends it.
func (c *Conn) sendRecord(seal func([]byte) ([]byte, error)) error {
	if err := c.writable(); err != nil {
		return err
	}
	buf, at := appendFrame(c.out.buf)
	buf, err := seal(buf)
	if err != nil {
		c.out.buf = buf[:at]
		return err
	}
	finishFrame(buf, at)
	c.out.buf = buf
	return c.flush()
}

// CloseWrite sends the close record, then shuts the transport's writing
// side if it has one (TCP): the peer reads io.EOF, and this end can still
// read.
func (c *Conn) CloseWrite() error {
	return c.writing(func() error {
		if err := c.sendClose(); err != nil {
			return err
		}
		if cw, ok := c.conn.(interface{ CloseWrite() error }); ok {
			return cw.CloseWrite()
		}
		return nil
	})
}

func (c *Conn) sendClose() error {
	if c.out.closeSent {
		return nil
	}
	if err := c.sendRecord(c.sess.SealClose); err != nil {
		return err
	}
	c.out.closeSent = true
	return nil
}

// Close sends the close record, when the handshake is complete and no
// Write is in flight, within 5 seconds and on a best-effort basis (the
// peer may be gone), then closes the transport and returns the error of
// that. Pending Reads and Writes return errors.
func (c *Conn) Close() error {
	var x int32
	for {
		x = c.activeCall.Load()
		if x&1 != 0 {
			return net.ErrClosed
		}
		if c.activeCall.CompareAndSwap(x, x|1) {
			break
		}
	}
	if x == 0 && c.handshakeDone.Load() && c.fatalErr() == nil {
		c.out.Lock()
		c.conn.SetWriteDeadline(time.Now().Add(closeTimeout))
		c.sendClose()
		c.out.Unlock()
	}
	return c.conn.Close()
}

// Counts returns the stream bytes Read returned and Write took so far.
func (c *Conn) Counts() (read, written int64) { return c.read.Load(), c.written.Load() }

// SetDeadline sets the read and write deadlines, as net.Conn.
func (c *Conn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// SetReadDeadline sets the read deadline, as net.Conn. A Read that times
// out may be retried.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.deadlines.Lock()
	defer c.deadlines.Unlock()
	c.deadlines.read = t
	return c.conn.SetReadDeadline(t)
}

// SetWriteDeadline sets the write deadline, as net.Conn. A Write that
// times out may be retried.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.deadlines.Lock()
	defer c.deadlines.Unlock()
	c.deadlines.write = t
	return c.conn.SetWriteDeadline(t)
}

// armIdle sets the transport's deadline for one frame to the earlier of
// the user's deadline and the idle timeout, and reports whether the idle
// timeout is the one that applies.
func (c *Conn) armIdle(read bool) bool {
	idle := c.cfg.Limits.IdleTimeout
	if idle <= 0 {
		return false
	}
	c.deadlines.Lock()
	defer c.deadlines.Unlock()
	user, set := c.deadlines.write, c.conn.SetWriteDeadline
	if read {
		user, set = c.deadlines.read, c.conn.SetReadDeadline
	}
	t := time.Now().Add(idle)
	if !user.IsZero() && user.Before(t) {
		set(user)
		return false
	}
	set(t)
	return true
}
