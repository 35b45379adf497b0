package authority_test

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/keyblob/keyblob/authority"
)

// accepted is one outcome of Accept.
type accepted struct {
	c   net.Conn
	err error
}

func acceptAsync(l net.Listener) <-chan accepted {
	ch := make(chan accepted, 1)
	go func() {
		c, err := l.Accept()
		ch <- accepted{c, err}
	}()
	return ch
}

func dial(t *testing.T, l net.Listener) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestListenerCap holds two connections open at most: the third waits
// in the backlog until one of the two is closed, and closing the
// Listener wakes an Accept waiting for a slot.
func TestListenerCap(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := authority.NewListener(inner, &authority.ListenerOptions{MaxConns: 2})
	defer l.Close()
	var open []net.Conn
	for range 2 {
		dial(t, l)
		c, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, c)
	}
	dial(t, l)
	third := acceptAsync(l)
	select {
	case a := <-third:
		t.Fatalf("a third connection accepted while two are open: %v", a.err)
	case <-time.After(100 * time.Millisecond):
	}
	if got := gauge(t, l, "keyblob_authority_connections"); got != 2 {
		t.Errorf("connections %v, want 2", got)
	}
	open[0].Close()
	open[0].Close() // a second Close frees no second slot
	a := <-third
	if a.err != nil {
		t.Fatal(a.err)
	}
	defer a.c.Close()
	fourth := acceptAsync(l)
	select {
	case a := <-fourth:
		t.Fatalf("accepted beyond the cap after a double Close: %v", a.err)
	case <-time.After(100 * time.Millisecond):
	}
	l.Close()
	select {
	case a := <-fourth:
		if !errors.Is(a.err, net.ErrClosed) {
			t.Errorf("Accept after Close: %v, want net.ErrClosed", a.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not wake the Accept waiting for a slot")
	}
}

// flaky fails its first n Accepts with EMFILE, as a process out of
// descriptors does.
type flaky struct {
	net.Listener
	n int
}

func (f *flaky) Accept() (net.Conn, error) {
	if f.n > 0 {
		f.n--
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	}
	return f.Listener.Accept()
}

// TestListenerBackoff retries EMFILE after growing pauses, counting
// each, and returns the connection that follows, not the error.
func TestListenerBackoff(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := authority.NewListener(&flaky{Listener: inner, n: 3}, &authority.ListenerOptions{MaxConns: 4})
	defer l.Close()
	dial(t, l)
	start := time.Now()
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if d := time.Since(start); d < 35*time.Millisecond { // 5 + 10 + 20ms
		t.Errorf("three retries in %v: no back-off", d)
	}
	if got := gauge(t, l, "keyblob_authority_accept_errors_total"); got != 3 {
		t.Errorf("accept errors %v, want 3", got)
	}
	// An error that is not temporary ends Accept, and frees the slot.
	inner.Close()
	for range 5 {
		if _, err := l.Accept(); err == nil {
			t.Fatal("Accept on a closed inner listener succeeded")
		}
	}
}

// gauge returns the value of the Listener's metric name.
func gauge(t *testing.T, l *authority.Listener, name string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(l)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		m := mf.GetMetric()[0]
		if g := m.GetGauge(); g != nil {
			return g.GetValue()
		}
		return m.GetCounter().GetValue()
	}
	t.Fatalf("no metric %s", name)
	return 0
}
