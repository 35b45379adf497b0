package channel

import (
	"errors"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/format"
)

// The errors of a channel (spec/channel.md section 2). The peer of an end
// that fails observes only that the transport closed.
var (
	// ErrAuth is the one error of every authentication failure: a record
	// that does not open (bad MAC or tag, bad padding, bad length,
	// replayed, reordered, reflected), a seed initial message that does
	// not authenticate, a v2 confirmation or a seed server signature that
	// does not verify. It is keyblob.ErrAuth.
	ErrAuth = keyblob.ErrAuth

	// ErrHandshake is wrapped by every error of a handshake that broke the
	// protocol: a malformed, unexpected or missing message, a key of the
	// wrong kind, or a transport that closed before the handshake ended.
	// Malformed messages also wrap keyblob.ErrMalformed.
	ErrHandshake = errors.New("channel handshake failed")

	// ErrNotSigned is returned by a seed client that pins a server
	// recipient when the server's key comes without a signature. It is
	// keyblob.ErrNotSigned.
	ErrNotSigned = keyblob.ErrNotSigned

	// ErrUnauthorized is returned by a v2 server that refused a client:
	// not in its authorized set, or without an identity when one is
	// required.
	ErrUnauthorized = errors.New("client not authorized")

	// ErrTruncated is returned by Read when the transport ended after the
	// handshake without a close record: the peer, or someone in between,
	// cut the stream short.
	ErrTruncated = errors.New("connection closed without a close record (truncated)")

	// ErrTooLarge is wrapped by the error of a frame whose length is over
	// the bound (spec/channel.md section 1); nothing of it was read. It is
	// the module's one "too large" sentinel.
	ErrTooLarge = format.ErrTooLarge

	// ErrKeyLimit is returned when a seed session's keys have sealed all
	// the data they may (2^36 bytes per direction); open a new session.
	ErrKeyLimit = errors.New("the session's key usage limit is reached (reconnect)")

	// ErrIdle is returned by Read and Write of a Conn after no frame could
	// be received or sent for Limits.IdleTimeout; the connection is then
	// closed.
	ErrIdle = errors.New("connection idle for too long")

	// ErrServerClosed is returned by Server.Serve after Shutdown or
	// Close, as http.ErrServerClosed.
	ErrServerClosed = errors.New("channel server closed")
)

// errMalformed makes the error of a malformed handshake message.
func errMalformed(what string) error {
	return &handshakeError{what: what, malformed: true}
}

// handshakeError is an ErrHandshake, and for a malformed message also an
// ErrMalformed.
type handshakeError struct {
	what      string
	malformed bool
}

func (e *handshakeError) Error() string {
	if e.malformed {
		return ErrHandshake.Error() + ": malformed " + e.what
	}
	return ErrHandshake.Error() + ": " + e.what
}

func (e *handshakeError) Is(target error) bool {
	return target == ErrHandshake || (e.malformed && target == keyblob.ErrMalformed)
}

// errProtocol makes an ErrHandshake for a message that is well formed but
// not what the protocol allows here.
func errProtocol(what string) error { return &handshakeError{what: what} }
