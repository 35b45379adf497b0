package channel

import (
	"fmt"
	"io"
	"time"
)

// A CloseReason is why a v2 peer ended its direction of the stream
// before the end of its data, carried as the one data byte of its close
// record (spec/channel.md section 4.6). A close record without data is
// the ordinary end of a stream. The seed profile's close record has no
// room for one: a seed end closes without a reason.
type CloseReason uint8

// The close reasons.
const (
	// CloseIdle: the sender's idle timeout ended the session.
	CloseIdle CloseReason = 1
	// CloseRefused: a server at its limit of sessions refused this one.
	CloseRefused CloseReason = 2
	// CloseShutdown: the server shut down and the session outlived its
	// grace period.
	CloseShutdown CloseReason = 3
)

var closeReasonText = map[CloseReason]string{
	CloseIdle:     "idle timeout",
	CloseRefused:  "refused: the server is at its limit of sessions",
	CloseShutdown: "the server shut down",
}

func (r CloseReason) String() string {
	if s, ok := closeReasonText[r]; ok {
		return s
	}
	return fmt.Sprintf("reason %d", uint8(r))
}

// A CloseError is what Read returns after a close record that gives a
// reason: the peer ended the stream, cleanly (nothing was cut), but not
// because its data ended. errors.Is(err, io.EOF) is false: a copy that
// stops at it reports it.
type CloseError struct {
	Reason CloseReason
}

func (e *CloseError) Error() string { return "the peer closed the channel: " + e.Reason.String() }

// closeErr is the error a Read returns after a close record of data.
func closeErr(data []byte) error {
	if len(data) == 1 {
		return &CloseError{Reason: CloseReason(data[0])}
	}
	return io.EOF
}

// closeWith ends the connection with a close record giving reason (v2;
// seed sends its plain close record, or with abort none at all), sent
// within a second if no Write holds the sending side, then closes the
// transport. err is what later calls return.
func (c *Conn) closeWith(reason CloseReason, err error) {
	if c.handshakeDone.Load() && c.fatalErr() == nil && c.out.TryLock() {
		c.conn.SetWriteDeadline(time.Now().Add(time.Second))
		c.sendCloseReason(reason)
		c.out.Unlock()
	}
	c.fail(err)
}

func (c *Conn) sendCloseReason(reason CloseReason) error {
	if c.out.closeSent {
		return nil
	}
	seal := func(dst []byte) ([]byte, error) { return c.sess.sealClose(dst, reason) }
	if err := c.sendRecord(seal); err != nil {
		return err
	}
	c.out.closeSent = true
	return nil
}

// abort ends the connection without a close record: the peer reports
// the stream truncated.
func (c *Conn) abort(err error) { c.fail(err) }
