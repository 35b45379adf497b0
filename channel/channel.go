package channel

import (
	"context"
	"net"
)

// Client returns the client end of a channel over conn. The handshake
// runs on the first Read or Write, or on Handshake. It returns an error
// only if cfg cannot run as a client.
func Client(conn net.Conn, cfg *Config) (*Conn, error) { return newConn(conn, cfg, false) }

// ServerConn returns the server end of a channel over conn; see Client. A
// seed server with fresh keys and no KeyPool generates its session key
// in the handshake.
func ServerConn(conn net.Conn, cfg *Config) (*Conn, error) { return newConn(conn, cfg, true) }

// Dial connects to addr on the named network and runs the client
// handshake; see DialContext.
func Dial(network, addr string, cfg *Config) (*Conn, error) {
	return DialContext(context.Background(), network, addr, cfg)
}

// DialContext connects to addr on the named network ("tcp", "tcp4",
// "tcp6", "unix") and runs the client handshake, both within ctx (and
// the handshake within Limits.HandshakeTimeout). On any error the
// connection is closed.
func DialContext(ctx context.Context, network, addr string, cfg *Config) (*Conn, error) {
	if err := cfg.check(false); err != nil {
		return nil, err
	}
	var d net.Dialer
	raw, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	c, err := Client(raw, cfg)
	if err == nil {
		err = c.HandshakeContext(ctx)
	}
	if err != nil {
		raw.Close()
		return nil, err
	}
	return c, nil
}

// A Listener accepts channel connections: Accept returns server Conns
// whose handshake runs on first use (or on Handshake). Its Conns share
// one memory budget for the handshake messages they are receiving
// (Limits.HandshakeMemory).
type Listener struct {
	inner  net.Listener
	cfg    *Config
	budget *memBudget
}

// Listen listens on addr of the named network and returns a Listener of
// server channels; see NewListener.
func Listen(network, addr string, cfg *Config) (*Listener, error) {
	if err := cfg.check(true); err != nil {
		return nil, err
	}
	inner, err := net.Listen(network, addr)
	if err != nil {
		return nil, err
	}
	l, err := NewListener(inner, cfg)
	if err != nil {
		inner.Close()
	}
	return l, err
}

// NewListener returns a Listener of server channels with cfg over inner.
// For a seed server it makes what handshakes take keys from before it
// returns: the first identity-mode epoch key, or the process's fresh-key
// pool started. It returns an error if cfg cannot run as a server.
func NewListener(inner net.Listener, cfg *Config) (*Listener, error) {
	if err := cfg.check(true); err != nil {
		return nil, err
	}
	if err := cfg.prepareSeed(); err != nil {
		return nil, err
	}
	return &Listener{inner: inner, cfg: cfg, budget: newMemBudget(cfg.handshakeMemory())}, nil
}

// Accept waits for the next connection and returns its server Conn (a
// *Conn).
func (l *Listener) Accept() (net.Conn, error) {
	raw, err := l.inner.Accept()
	if err != nil {
		return nil, err
	}
	c, err := ServerConn(raw, l.cfg)
	if err != nil {
		raw.Close()
		return nil, err
	}
	c.budget = l.budget
	return c, nil
}

// Close closes the inner listener. Conns already accepted stay open.
func (l *Listener) Close() error { return l.inner.Close() }

// Addr returns the inner listener's address.
func (l *Listener) Addr() net.Addr { return l.inner.Addr() }
