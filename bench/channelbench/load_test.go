package main

import (
	"io"
	"net"
	"slices"
	"testing"
	"time"
)

// TestAttemptOutcome runs attempt against servers that echo, close at
// once and never answer, and checks how each attempt is counted.
func TestAttemptOutcome(t *testing.T) {
	echo := func(c net.Conn) { echoOnce(c) }
	hangUp := func(net.Conn) {}
	// silent reads without answering until the client goes (or 2 s).
	silent := func(c net.Conn) { c.SetReadDeadline(time.Now().Add(2 * time.Second)); io.Copy(io.Discard, c) }
	far := 10 * time.Second
	for _, tc := range []struct {
		name         string
		handle       func(net.Conn)
		timeout, end time.Duration
		want         outcome
	}{
		{"echo", echo, far, far, ok},
		{"closed at once", hangUp, far, far, refused},
		{"silent, timeout first", silent, 100 * time.Millisecond, far, timedOut},
		{"silent, end first", silent, far, 100 * time.Millisecond, cut},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, stop, err := serve(protocol{server: same}, tc.handle)
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			got, err := attempt(same, addr, time.Now().Add(tc.end), tc.timeout)
			if got != tc.want {
				t.Errorf("attempt = %d (err %v), want %d", got, err, tc.want)
			}
		})
	}
}

func TestParseCPUList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
		ok   bool
	}{
		{"0", []int{0}, true},
		{"0-1", []int{0, 1}, true},
		{"0-2,5,7-8", []int{0, 1, 2, 5, 7, 8}, true},
		{"", nil, false},
		{"3-1", nil, false},
		{"a", nil, false},
		{"-1", nil, false},
	} {
		got, err := parseCPUList(tc.in)
		if (err == nil) != tc.ok || !slices.Equal(got, tc.want) {
			t.Errorf("parseCPUList(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
