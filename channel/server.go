package channel

// server.go is, with conn.go and channel.go, a socket-level file: it
// imports net and accepts connections.

import (
	"cmp"
	"container/list"
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"
)

// Defaults of a Server's zero fields.
const (
	DefaultMaxSessions   = 256
	DefaultMaxHandshakes = 4096
	DefaultHandshakeRate = 20 // handshakes per second and source, also the burst
	// DefaultGlobalHandshakeRate bounds the handshakes per second of all
	// sources together, also the burst.
	DefaultGlobalHandshakeRate = 1000
	DefaultMaxSources          = 1 << 16
	DefaultIdleTimeout         = 5 * time.Minute
)

// A Handler runs one established session. The Server closes the Conn
// when it returns; the error is logged. A Handler must return once its
// Conn is closed (Shutdown and Close close it).
type Handler func(*Conn) error

// A Server accepts channel connections within limits and runs Handler on
// each established session, as http.Server does for requests.
//
// Admission: a connection is closed at once when its source (an IPv4
// address, an IPv6 /64) is over HandshakeRate, its network (an IPv4 /24,
// an IPv6 /48) over PrefixRate, or all sources together over
// GlobalHandshakeRate (sourcekey.go). When MaxHandshakes connections
// are in their handshake, the oldest of them is closed to make room for
// the new one (pending.go). A handshake holds a handshake slot
// only; a session slot (MaxSessions) is taken once it has succeeded, so
// connections that never finish a handshake (each closed after
// Config.Limits.HandshakeTimeout) cannot lock real clients out. The
// per-source table holds at most MaxSources sources: when full, sources
// back at a full burst are forgotten, and if none is, new sources are
// refused.
//
// Every zero field means its default. The fields must not change after
// the first Serve. A Server's methods are safe for concurrent use.
// Nothing secret is logged: addresses, fingerprints, profiles, errors.
type Server struct {
	// Config is the server end's channel config (required). Its
	// Limits.HandshakeTimeout bounds handshakes (0: 10 s); its
	// Limits.IdleTimeout closes idle sessions, and 0 means
	// DefaultIdleTimeout here (negative: none).
	Config *Config
	// Handler runs each session (required).
	Handler Handler
	// MaxSessions bounds established sessions (0: DefaultMaxSessions).
	MaxSessions int
	// MaxHandshakes bounds connections in their handshake (0:
	// DefaultMaxHandshakes).
	MaxHandshakes int
	// HandshakeRate bounds the handshakes per second of one source, an
	// IPv4 address or an IPv6 /64 (0: DefaultHandshakeRate);
	// HandshakeBurst is its burst (0: the rate, at least 1).
	HandshakeRate  float64
	HandshakeBurst int
	// PrefixRate bounds the handshakes per second of one network, an
	// IPv4 /24 or an IPv6 /48, with a burst as many times HandshakeBurst
	// (0: 4 times HandshakeRate).
	PrefixRate float64
	// GlobalHandshakeRate bounds the handshakes per second of all
	// sources together, also its burst (0: DefaultGlobalHandshakeRate).
	GlobalHandshakeRate float64
	// MaxSources bounds the sources, and the networks, tracked for the
	// rates (0: DefaultMaxSources).
	MaxSources int
	// Logger receives one line per refusal and per session (nil: none).
	Logger *slog.Logger

	once      sync.Once
	slots     chan struct{} // established sessions
	pending   *pendingSet   // connections in their handshake
	admission *admission
	cfg       *Config

	mu        sync.Mutex
	closed    bool
	listeners map[net.Listener]struct{}
	conns     map[*Conn]struct{}
	wg        sync.WaitGroup
}

func (s *Server) init() {
	s.once.Do(func() {
		s.slots = make(chan struct{}, cmp.Or(s.MaxSessions, DefaultMaxSessions))
		s.pending = newPendingSet(cmp.Or(s.MaxHandshakes, DefaultMaxHandshakes))
		s.admission = s.newAdmission()
		s.listeners, s.conns = map[net.Listener]struct{}{}, map[*Conn]struct{}{}
		if s.Logger == nil {
			s.Logger = slog.New(slog.DiscardHandler)
		}
		if s.Config != nil {
			own := *s.Config
			own.Limits.IdleTimeout = cmp.Or(own.Limits.IdleTimeout, DefaultIdleTimeout)
			s.cfg = &own
		}
	})
}

// Serve accepts connections on ln (a *Listener, or a plain listener it
// wraps with NewListener and the Config) until ln fails or the Server is
// shut down, then closes ln. It returns ErrServerClosed after Shutdown or
// Close, else the error that ended it.
func (s *Server) Serve(ln net.Listener) error {
	s.init()
	if s.Handler == nil || s.cfg == nil {
		ln.Close()
		return errors.New("channel server needs a Config and a Handler")
	}
	cl, ok := ln.(*Listener)
	if !ok {
		var err error
		if cl, err = NewListener(ln, s.cfg); err != nil {
			ln.Close()
			return err
		}
	}
	if !s.addListener(cl) {
		cl.Close()
		return ErrServerClosed
	}
	defer s.removeListener(cl)
	return s.acceptLoop(cl)
}

// acceptLoop accepts until the listener fails.
func (s *Server) acceptLoop(ln *Listener) error {
	for {
		nc, err := ln.Accept()
		var ne net.Error
		switch {
		case err == nil:
			s.admit(nc.(*Conn))
		case s.shuttingDown():
			return ErrServerClosed
		case errors.As(err, &ne) && ne.Timeout():
			time.Sleep(10 * time.Millisecond) // e.g. out of file descriptors
		default:
			return err
		}
	}
}

// admit starts the handshake of conn, or closes it at once when its
// source is over a rate. With MaxHandshakes under way, the oldest of them
// is closed to make room (pendingSet).
func (s *Server) admit(conn *Conn) {
	remote := conn.RemoteAddr().String()
	if over := s.admission.allow(conn.RemoteAddr()); over != "" {
		s.Logger.Warn("refused: handshake rate limit", "remote", remote, "limit", over)
		conn.Close()
		return
	}
	if !s.track(conn, true) {
		conn.Close()
		return
	}
	e, old := s.pending.add(conn)
	if old != nil {
		s.Logger.Warn("closed the oldest handshake: too many in progress", "remote", old.RemoteAddr().String(), "max", s.pending.max)
		old.abort(errEvicted)
	}
	source, network := sourceKeys(conn.RemoteAddr())
	ctx := withAdmitted(context.Background(), admitted{source, network, time.Now()})
	s.wg.Go(func() {
		defer s.track(conn, false)
		s.session(ctx, conn, e)
	})
}

// session runs the handshake and the handler of one connection.
func (s *Server) session(ctx context.Context, conn *Conn, pending *list.Element) {
	defer conn.Close()
	log := s.Logger.With("remote", conn.RemoteAddr().String())
	start := time.Now()
	err := conn.HandshakeContext(ctx)
	s.pending.remove(pending)
	if err != nil {
		s.handshakeFailed(log, err)
		return
	}
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	default:
		log.Warn("refused: too many sessions", "max", cap(s.slots))
		conn.refuse()
		return
	}
	log = log.With(conn.ConnectionState().LogAttrs("client")...)
	log.Info("session open")
	err = s.Handler(conn)
	in, out := conn.Counts()
	attrs := []any{"duration", time.Since(start).Round(time.Millisecond).String(), "bytes_in", in, "bytes_out", out}
	if err != nil && !(s.shuttingDown() && errors.Is(err, net.ErrClosed)) {
		log.Warn("session failed", append([]any{"err", logError(err)}, attrs...)...)
		return
	}
	log.Info("session closed", attrs...)
}

// handshakeFailed logs a failed handshake: a refusal for a shared
// resource under its own words.
func (s *Server) handshakeFailed(log *slog.Logger, err error) {
	if errors.Is(err, ErrOverloaded) {
		log.Warn("refused: server overloaded", "err", logError(err))
		return
	}
	log.Warn("handshake failed", "err", logError(err))
}

// refuse ends a session the server has no room for: a v2 close record
// saying so, a seed connection closed without one (its close record has
// no room for a reason), so that the client never takes the refusal for
// a clean, empty session.
func (c *Conn) refuse() {
	if c.cfg.profile().id == Seed {
		c.abort(errRefused)
		return
	}
	c.closeWith(CloseRefused, errRefused)
}

// errRefused is what a refused Conn's later calls return.
var errRefused = errors.New("channel session refused: too many sessions")

// logError words err for a log line: the transport's own errors in
// plain words instead of Go's.
func logError(err error) string {
	switch {
	case errors.Is(err, net.ErrClosed):
		return "connection closed"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by the peer"
	case errors.Is(err, syscall.EPIPE):
		return "the peer stopped reading (broken pipe)"
	}
	return err.Error()
}

// LogAttrs are the slog key-value pairs of an established session: its
// profile, the authenticated peer's fingerprint under the key peer
// ("client" at a server, "server" at a client), the seed server's RSA
// key size. Nothing secret.
func (st ConnectionState) LogAttrs(peer string) []any {
	attrs := []any{"profile", st.Profile.String()}
	if st.Peer != nil {
		attrs = append(attrs, peer, st.Peer.Fingerprint().String())
	}
	if st.PeerName != "" {
		attrs = append(attrs, peer+"_name", st.PeerName)
	}
	if st.SeedKeyBits != 0 {
		attrs = append(attrs, "rsa_bits", st.SeedKeyBits)
	}
	return attrs
}

// Shutdown stops accepting (closing the listeners), lets the sessions
// and handshakes under way finish until ctx is done, then closes the
// ones left and returns ctx's error once their handlers have returned.
// It returns nil if all finished in time.
func (s *Server) Shutdown(ctx context.Context) error {
	s.init()
	s.stop()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	if n := s.closeConns(); n > 0 {
		s.Logger.Warn("grace period over: closed the remaining sessions", "sessions", n)
	}
	<-done
	return ctx.Err()
}

// Close stops accepting, closes every connection and returns once their
// handlers have returned.
func (s *Server) Close() error {
	s.init()
	s.stop()
	s.closeConns()
	s.wg.Wait()
	return nil
}

// stop marks the server closed and closes its listeners.
func (s *Server) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for ln := range s.listeners {
		ln.Close()
	}
}

// closeConns closes every tracked connection, returning how many.
func (s *Server) closeConns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.closeWith(CloseShutdown, ErrServerClosed)
	}
	return len(s.conns)
}

func (s *Server) shuttingDown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Server) addListener(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.listeners[ln] = struct{}{}
	return true
}

func (s *Server) removeListener(ln net.Listener) {
	s.mu.Lock()
	delete(s.listeners, ln)
	s.mu.Unlock()
	ln.Close()
}

// track adds or removes conn; adding fails once the server is closed.
func (s *Server) track(conn *Conn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !add {
		delete(s.conns, conn)
		return true
	}
	if s.closed {
		return false
	}
	s.conns[conn] = struct{}{}
	return true
}
