package main

// How channel serve --forward and --exec and channel connect
// --forward-local move bytes: splice joins a client's stream to a target
// with socat's stream semantics, and forwarder is stunnel's client mode.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/keyblob/keyblob/channel"
	"github.com/spf13/cobra"
)

// spliceEnd is one end of a splice.
type spliceEnd interface {
	io.ReadWriteCloser
	// CloseWrite ends the writing side alone: a channel's close record,
	// a TCP FIN, a command's standard input closed.
	CloseWrite() error
	// abort ends the stream as a failure that its peer can tell from a
	// clean end: a channel without its close record, a TCP reset, a
	// killed command. It may be called more than once, and before Close.
	abort()
}

// channelStream is a channel as a spliceEnd.
type channelStream struct{ *channel.Conn }

// abort closes the transport first, so that the Conn's Close can send
// no close record: the peer reads channel.ErrTruncated or a reset.
func (c channelStream) abort() { c.NetConn().Close() }

// tcpStream is a TCP connection as a spliceEnd.
type tcpStream struct{ *net.TCPConn }

// abort resets the connection (SO_LINGER 0): the peer reads ECONNRESET,
// not a clean end of data.
func (t tcpStream) abort() {
	t.SetLinger(0)
	t.Close()
}

// spliced counts the bytes a splice moved each way.
type spliced struct{ toTarget, toClient int64 }

// splice copies client to target and target to client until both
// directions have ended, then closes both, as socat does:
//
//   - the end of either side's data ends the other side's writing
//     (CloseWrite): the target's output is all delivered, then the
//     client gets a clean close;
//   - a write error on the target (EPIPE: a command that closed its
//     standard input, a peer that shut its reading side) stops the input
//     direction only: the client's remaining input is read and dropped,
//     so that the client is never blocked, and the output still goes
//     through;
//   - any other error (a read error on either side, a reset of the
//     target, a write error or a failed CloseWrite on the client) aborts
//     both sides at once, so that each peer sees a failure and not a
//     clean end.
//
// It returns the counts and the first error, nil after clean ends.
func splice(client, target spliceEnd) (spliced, error) {
	var in, out atomic.Int64
	ended := make(chan error, 2)
	go func() { ended <- copyIn(target, client, &in) }()
	go func() { ended <- copyOut(client, target, &out) }()
	var first error
	for range 2 {
		if err := <-ended; err != nil && first == nil {
			first = err
			client.abort()
			target.abort()
		}
	}
	client.Close()
	target.Close()
	return spliced{toTarget: in.Load(), toClient: out.Load()}, first
}

// copyIn is the input direction of a splice: client (src) to target
// (dst). A read error of the client and a reset of the target are
// errors; the target's other write errors and a failed CloseWrite leave
// the rest of the client's input to be dropped.
//
// A reset must be an error here: the kernel reports a TCP reset to one
// call only, and when that is this write, the output direction's next
// read returns a plain end of data, which would close the channel
// cleanly.
func copyIn(dst, src spliceEnd, n *atomic.Int64) error {
	readErr, writeErr := copyCounting(dst, src, n)
	switch {
	case readErr != nil:
		return readErr
	case errors.Is(writeErr, syscall.ECONNRESET):
		return writeErr
	case writeErr != nil:
		io.Copy(io.Discard, src) // the end of the client's input, whatever it is, decides nothing now
	default:
		dst.CloseWrite() // an error means the target is gone, as a write error does
	}
	return nil
}

// copyOut is the output direction of a splice: target (src) to client
// (dst). Every error is the session's.
func copyOut(dst, src spliceEnd, n *atomic.Int64) error {
	readErr, writeErr := copyCounting(dst, src, n)
	if err := cmp.Or(readErr, writeErr); err != nil {
		return err
	}
	return dst.CloseWrite()
}

// spliceBuffer is the copy buffer of a splice: a channel record's most
// data.
const spliceBuffer = 64 << 10

// copyCounting copies src to dst until src's io.EOF (both errors nil),
// a read error or a write error, adding to n the bytes dst took.
func copyCounting(dst io.Writer, src io.Reader, n *atomic.Int64) (readErr, writeErr error) {
	buf := make([]byte, spliceBuffer)
	for {
		k, err := src.Read(buf)
		if k > 0 {
			w, werr := dst.Write(buf[:k])
			n.Add(int64(w))
			if werr != nil {
				return nil, werr
			}
		}
		if err == io.EOF {
			return nil, nil
		}
		if err != nil {
			return err, nil
		}
	}
}

// errShutdown is the end of a session that this process cut at
// shutdown (its grace period was over): what splice reports as
// net.ErrClosed, "use of closed network connection". It still is
// net.ErrClosed for errors.Is.
var errShutdown error = shutdownError{}

type shutdownError struct{}

func (shutdownError) Error() string { return "closed at shutdown" }
func (shutdownError) Unwrap() error { return net.ErrClosed }

// sessionError is err as the logs say it: net.ErrClosed, which only
// this process closing the connection causes, is errShutdown.
func sessionError(err error) error {
	if errors.Is(err, net.ErrClosed) {
		return errShutdown
	}
	return err
}

// forwardSession proxies the channel to a TCP address (splice). A target
// that cannot be reached is a failure at the client too: the channel is
// cut without its close record.
func forwardSession(conn *channel.Conn, addr string) error {
	target, err := net.DialTimeout("tcp", addr, dialTimeout)
	if err != nil {
		channelStream{conn}.abort()
		return err
	}
	_, err = splice(channelStream{conn}, tcpStream{target.(*net.TCPConn)})
	return sessionError(err)
}

// forwarder is channel connect --forward-local: each local connection
// is forwarded over a channel of its own to the server addr, at most
// cap(slots) at once. Zero values are not usable; forwardLocal makes it.
type forwarder struct {
	log   *slog.Logger
	addr  string
	cfg   *channel.Config
	slots chan struct{}
	// hard ends when the grace period after a stop signal is over:
	// channels being dialled stop, and the connections left are closed.
	hard context.Context

	mu    sync.Mutex
	local map[*net.TCPConn]struct{}
	wg    sync.WaitGroup
}

// forwardLocal listens on o.forwardLocal and forwards each connection
// over its own channel to addr. The first SIGINT or SIGTERM stops the
// accepting and leaves the forwardings under way o.grace to end; then
// they are closed (a second signal ends the process at once, stopContext).
func (e *env) forwardLocal(c *cobra.Command, cfg *channel.Config, addr string, o *connectFlags) error {
	if o.maxSessions < 1 {
		return usagef("--max-sessions must be positive")
	}
	ln, err := net.Listen("tcp", o.forwardLocal)
	if err != nil {
		return err
	}
	defer ln.Close()
	e.warnOpenListener(ln.Addr(), addr, o.identity)
	if err := e.announce(ln.Addr(), o.addrFile); err != nil {
		return err
	}
	ctx, cancel := stopContext(c.Context())
	defer cancel()
	hard, hardCancel := context.WithCancel(context.WithoutCancel(ctx))
	defer hardCancel()
	f := &forwarder{log: e.logger(), addr: addr, cfg: cfg, slots: make(chan struct{}, o.maxSessions), hard: hard, local: map[*net.TCPConn]struct{}{}}
	stopped := context.AfterFunc(ctx, func() {
		if sig, ok := signalOf(ctx); ok {
			f.log.Info("shutting down", "signal", sig.String(), "grace", o.grace.String())
		}
		ln.Close()
	})
	defer stopped()
	err = f.accept(ctx, ln)
	f.finish(o.grace, hardCancel)
	return err
}

// warnOpenListener warns when --forward-local listens on an address
// other hosts may reach: whoever connects uses the channel, and the -i
// identity if one is given.
func (e *env) warnOpenListener(addr net.Addr, server, identity string) {
	ta, ok := addr.(*net.TCPAddr)
	if !ok || ta.IP.IsLoopback() {
		return
	}
	as := "as -i " + identity
	if identity == "" {
		as = "to " + server
	}
	fmt.Fprintf(e.stderr, "keyblob: warning: --forward-local listens on %s, not a loopback address: anyone who can reach it uses the channel %s\n", addr, as)
}

// accept accepts local connections until ctx ends or ln fails; a
// failure that passes (out of file descriptors) only slows it down.
func (f *forwarder) accept(ctx context.Context, ln net.Listener) error {
	for {
		local, err := ln.Accept()
		var ne net.Error
		switch {
		case ctx.Err() != nil:
			if local != nil {
				local.Close()
			}
			return nil
		case errors.As(err, &ne) && ne.Timeout():
			time.Sleep(10 * time.Millisecond)
		case err != nil:
			return err
		default:
			f.start(local.(*net.TCPConn))
		}
	}
}

// start forwards local in its own goroutine, or closes it at once when
// every slot is taken.
func (f *forwarder) start(local *net.TCPConn) {
	select {
	case f.slots <- struct{}{}:
	default:
		f.log.Warn("refused: too many sessions", "local", local.RemoteAddr().String(), "max", cap(f.slots))
		local.Close()
		return
	}
	f.track(local, true)
	f.wg.Go(func() {
		defer func() { <-f.slots }()
		defer f.track(local, false)
		f.forwardOne(local)
	})
}

// track adds or removes a local connection of those finish closes.
func (f *forwarder) track(local *net.TCPConn, add bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if add {
		f.local[local] = struct{}{}
	} else {
		delete(f.local, local)
	}
}

// finish waits for the forwardings under way, at most grace; then it
// ends hard (dials stop), closes the local connections left and waits
// for their goroutines.
func (f *forwarder) finish(grace time.Duration, endHard context.CancelFunc) {
	done := make(chan struct{})
	go func() { f.wg.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-time.After(grace):
	}
	endHard()
	f.mu.Lock()
	n := len(f.local)
	for local := range f.local {
		local.Close()
	}
	f.mu.Unlock()
	f.log.Warn("grace period over: closed the remaining forwardings", "sessions", n)
	<-done
}

// forwardOne forwards one local connection over a new channel, and logs
// how it ended with the bytes moved each way over the channel (bytes_in
// from the server, bytes_out to it, as the server's log counts them).
func (f *forwarder) forwardOne(local *net.TCPConn) {
	defer local.Close()
	log := f.log.With("local", local.RemoteAddr().String(), "server", f.addr)
	dctx, cancel := context.WithTimeout(f.hard, dialTimeout)
	defer cancel()
	conn, err := channel.DialContext(dctx, "tcp", f.addr, f.cfg)
	if err != nil {
		tcpStream{local}.abort()
		if f.hard.Err() != nil {
			err = errShutdown
		}
		log.Warn("channel failed", "err", err)
		return
	}
	log.Info("forwarding", conn.ConnectionState().LogAttrs("server_fingerprint")...)
	n, err := splice(tcpStream{local}, channelStream{conn})
	counts := []any{"bytes_in", n.toClient, "bytes_out", n.toTarget}
	switch {
	case f.hard.Err() != nil:
		log.Info("forwarding closed", append(counts, "reason", errShutdown.Error())...)
	case err != nil:
		log.Warn("forwarding failed", append([]any{"err", sessionError(err)}, counts...)...)
	default:
		log.Info("forwarding closed", counts...)
	}
}
