package authority

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Accept back-off on temporary errors, as net/http's Server does.
const (
	acceptDelayMin = 5 * time.Millisecond
	acceptDelayMax = time.Second
)

// ListenerOptions configure NewListener.
type ListenerOptions struct {
	// MaxConns is how many accepted connections may be open at once
	// (at least 1). Choose it below the process's file-descriptor limit,
	// leaving room for the database and the logs, so that the server
	// never runs out of descriptors: then a connection beyond it waits in
	// the kernel's backlog, to be accepted when one closes.
	MaxConns int
	// Logger receives the temporary accept errors; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Listener is a net.Listener that holds at most MaxConns connections
// open: Accept blocks while that many are, until one of them is closed
// (or the Listener is). A temporary accept error (no descriptor left,
// EMFILE or ENFILE) is retried after a pause, 5ms doubling to 1s, and
// counted, never returned. It is safe for concurrent use. It is a
// prometheus.Collector of its gauges and counter; give it to
// HandlerOptions.Collectors so that /metrics serves them.
type Listener struct {
	net.Listener
	slots     chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	log       *slog.Logger
	open      prometheus.GaugeFunc
	max       prometheus.Gauge
	retries   prometheus.Counter
}

// NewListener returns inner limited by opts; closing it closes inner.
func NewListener(inner net.Listener, opts *ListenerOptions) *Listener {
	n := max(opts.MaxConns, 1)
	l := &Listener{Listener: inner, slots: make(chan struct{}, n), done: make(chan struct{}), log: opts.Logger}
	if l.log == nil {
		l.log = slog.Default()
	}
	l.open = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "keyblob_authority_connections",
		Help: "Connections open (accepted and not yet closed)."}, func() float64 { return float64(len(l.slots)) })
	l.max = prometheus.NewGauge(prometheus.GaugeOpts{Name: "keyblob_authority_connections_max",
		Help: "The most connections open at once (serve --max-conns); more wait in the backlog."})
	l.max.Set(float64(n))
	l.retries = prometheus.NewCounter(prometheus.CounterOpts{Name: "keyblob_authority_accept_errors_total",
		Help: "Temporary accept errors (EMFILE, ENFILE), each retried after a pause."})
	return l
}

// Accept waits for a free slot, then for a connection, which holds the
// slot until it is closed. It returns net.ErrClosed once the Listener is
// closed, and inner's errors that are not temporary.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &conn{Conn: c, release: func() { <-l.slots }}, nil
}

// accept calls inner's Accept until it returns a connection or an error
// that is not temporary, pausing after each temporary one.
func (l *Listener) accept() (net.Conn, error) {
	delay := time.Duration(0)
	for {
		c, err := l.Listener.Accept()
		if err == nil || !temporary(err) {
			return c, err
		}
		l.retries.Inc()
		delay = min(max(2*delay, acceptDelayMin), acceptDelayMax)
		l.log.Warn("accept failed; retrying", "error", err, "delay", delay)
		select {
		case <-time.After(delay):
		case <-l.done:
			return nil, net.ErrClosed
		}
	}
}

// temporary reports a temporary error as net/http's Server does: the
// kernel's EMFILE, ENFILE (and the like) say so of themselves.
func temporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// Close closes inner and wakes the Accept calls waiting for a slot; the
// connections accepted stay open.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// Describe sends the metrics' descriptions (prometheus.Collector).
func (l *Listener) Describe(ch chan<- *prometheus.Desc) {
	l.open.Describe(ch)
	l.max.Describe(ch)
	l.retries.Describe(ch)
}

// Collect sends the metrics (prometheus.Collector).
func (l *Listener) Collect(ch chan<- prometheus.Metric) {
	l.open.Collect(ch)
	l.max.Collect(ch)
	l.retries.Collect(ch)
}

// conn is an accepted connection holding its slot until the first Close.
type conn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// CloseWrite half-closes a TCP connection, as net/http does before it
// closes one it answered with an error.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
