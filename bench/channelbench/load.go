package main

import (
	"io"
	"log"
	"net"
	"sync"
	"time"
)

// failurePause is how long a handshaking client waits after a refused or
// timed-out attempt before the next one: a client retrying, not a flood
// of reconnects (and no storm of TIME_WAIT sockets on the server).
const failurePause = 20 * time.Millisecond

// A tally counts the attempts of handshaking clients. Attempts still
// under way when the run ends are cut, and counted in no other field.
type tally struct {
	OK       int64  `json:"ok"`
	Refused  int64  `json:"refused"`   // failed before their deadline: closed, reset, refused
	TimedOut int64  `json:"timed_out"` // ran into the attempt's timeout
	Cut      int64  `json:"cut"`       // ran into the end of the run
	FirstErr string `json:"first_err,omitempty"`
	// CPU is the client process's CPU time over the run, set by load
	// when it runs as a process of its own.
	CPU time.Duration `json:"cpu_ns,omitempty"`
}

// An outcome is how one attempt ended.
type outcome int

const (
	ok outcome = iota
	refused
	timedOut
	cut
)

func (t *tally) add(o outcome, err error) {
	switch o {
	case ok:
		t.OK++
	case refused:
		t.Refused++
	case timedOut:
		t.TimedOut++
	case cut:
		t.Cut++
	}
	if o != ok && o != cut && t.FirstErr == "" && err != nil {
		t.FirstErr = err.Error()
	}
}

func (t *tally) merge(u tally) {
	t.OK += u.OK
	t.Refused += u.Refused
	t.TimedOut += u.TimedOut
	t.Cut += u.Cut
	if t.FirstErr == "" {
		t.FirstErr = u.FirstErr
	}
}

// failed is the number of refused and timed-out attempts.
func (t tally) failed() int64 { return t.Refused + t.TimedOut }

// perSecond is the successful handshakes per second of a run of dur.
func (t tally) perSecond(dur time.Duration) float64 { return float64(t.OK) / dur.Seconds() }

// logFailures logs the failed attempts of row name, if any.
func (t tally) logFailures(name string) {
	if t.failed() > 0 {
		log.Printf("%s: %d refused, %d timed out; first: %s", name, t.Refused, t.TimedOut, t.FirstErr)
	}
}

// load runs o.clients goroutines, each looping attempt against addr until
// o.dur has passed, and returns their tally. An attempt is bounded by
// o.timeout and by the end of the run; after a failed one the client
// waits failurePause.
func load(client func(net.Conn) (net.Conn, error), addr string, o options) tally {
	end := time.Now().Add(o.dur)
	tallies := make([]tally, o.clients)
	var wg sync.WaitGroup
	for i := range tallies {
		wg.Go(func() {
			for time.Now().Before(end) {
				res, err := attempt(client, addr, end, o.timeout)
				tallies[i].add(res, err)
				if res == refused || res == timedOut {
					time.Sleep(min(failurePause, time.Until(end)))
				}
			}
		})
	}
	wg.Wait()
	var t tally
	for _, u := range tallies {
		t.merge(u)
	}
	return t
}

// attempt makes one new TCP connection to addr, runs the client
// handshake, a one-byte echo (so the server's side is done too), and
// closes with RST (SetLinger(0)), so that no TIME_WAIT skews the results.
// The whole attempt is bounded by timeout and by end; one that fails at
// the bound is timedOut or cut, one that fails before it refused.
func attempt(client func(net.Conn) (net.Conn, error), addr string, end time.Time, timeout time.Duration) (outcome, error) {
	deadline, atEnd := time.Now().Add(timeout), false
	if !deadline.Before(end) {
		deadline, atEnd = end, true
	}
	err := echoAttempt(client, addr, deadline)
	switch {
	case err == nil:
		return ok, nil
	case time.Now().Before(deadline):
		return refused, err
	case atEnd:
		return cut, err
	default:
		return timedOut, err
	}
}

func echoAttempt(client func(net.Conn) (net.Conn, error), addr string, deadline time.Time) error {
	d := net.Dialer{Deadline: deadline}
	raw, err := d.Dial("tcp", addr)
	if err != nil {
		return err
	}
	raw.(*net.TCPConn).SetLinger(0)
	defer raw.Close()
	raw.SetDeadline(deadline)
	c, err := client(raw)
	if err != nil {
		return err
	}
	b := []byte{7}
	if _, err := c.Write(b); err != nil {
		return err
	}
	_, err = io.ReadFull(c, b)
	return err
}
