package authority

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/keyblob/keyblob/authority/api"
)

// TestSourceLimits: addresses of one IPv4 /24 or IPv6 /64 share a bucket;
// beyond its burst a request is ErrBusy with the wait; another prefix has
// its own; the table stays bounded.
func TestSourceLimits(t *testing.T) {
	l := newSourceLimits(1, 3)
	now := time.Unix(1_750_000_000, 0)
	req := func(addr string) *http.Request { return &http.Request{RemoteAddr: addr} }
	for i, addr := range []string{"192.0.2.1:1", "192.0.2.200:2", "[::ffff:192.0.2.9]:3"} {
		if err := l.allow(req(addr), now); err != nil {
			t.Fatalf("request %d of the /24: %v", i, err)
		}
	}
	err := l.allow(req("192.0.2.77:4"), now)
	if secs, ok := api.RetryAfter(err); !errors.Is(err, api.ErrBusy) || !ok || secs != 1 {
		t.Fatalf("past the burst: %v (%d s)", err, secs)
	}
	if err := l.allow(req("192.0.3.1:1"), now); err != nil {
		t.Errorf("another /24: %v", err)
	}
	for i := range 3 {
		if err := l.allow(req("[2001:db8::"+strconv.Itoa(i+10)+"]:1"), now); err != nil {
			t.Fatalf("request %d of the /64: %v", i, err)
		}
	}
	if err := l.allow(req("[2001:db8::ffff:1]:9"), now); !errors.Is(err, api.ErrBusy) {
		t.Errorf("an address of the same /64: %v", err)
	}
	if err := l.allow(req("[2001:db8:0:1::1]:9"), now); err != nil {
		t.Errorf("another /64: %v", err)
	}
	if err := l.allow(req("192.0.2.77:4"), now.Add(time.Second)); err != nil {
		t.Errorf("a second later: %v", err)
	}
	for i := range maxSources + 100 {
		l.allow(req("10."+strconv.Itoa(i>>8&255)+"."+strconv.Itoa(i&255)+".1:1"), now)
	}
	if len(l.buckets) > maxSources {
		t.Errorf("%d sources kept, at most %d", len(l.buckets), maxSources)
	}
}
