package authority

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/keyblob/keyblob/authority/api"
)

// Per-source limits on the routes that run Argon2id (enrolment, recovery
// requests and completions; spec/escrow-api.md section 5.4): a source is
// an IPv4 /24 or an IPv6 /64, so that one holder of a prefix gets one
// bucket, not one per address. The table is bounded: when full, part of
// it is forgotten at random.

const (
	// DefaultSourceRate and DefaultSourceBurst are the code-check requests
	// a source may make per second, and at once.
	DefaultSourceRate  = 2
	DefaultSourceBurst = 10
	maxSources         = 1 << 14
)

type sourceLimits struct {
	mu      sync.Mutex
	rate    rate.Limit
	burst   int
	buckets map[netip.Prefix]*rate.Limiter
}

// newSourceLimits returns the limits, or nil (none) for a negative rate.
func newSourceLimits(perSecond float64, burst int) *sourceLimits {
	if perSecond < 0 {
		return nil
	}
	if perSecond == 0 {
		perSecond = DefaultSourceRate
	}
	if burst <= 0 {
		burst = DefaultSourceBurst
	}
	return &sourceLimits{rate: rate.Limit(perSecond), burst: burst, buckets: map[netip.Prefix]*rate.Limiter{}}
}

// source is the prefix a request comes from (an unparsable address is
// its own source, the zero prefix).
func source(r *http.Request) netip.Prefix {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{}
	}
	a = a.Unmap()
	bits := 64
	if a.Is4() {
		bits = 24
	}
	p, _ := a.Prefix(bits)
	return p
}

// allow takes a token of r's source, or returns a RetryError (ErrBusy)
// saying when one will be there.
func (l *sourceLimits) allow(r *http.Request, now time.Time) error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	p := source(r)
	b := l.buckets[p]
	if b == nil {
		if len(l.buckets) >= maxSources {
			l.forget()
		}
		b = rate.NewLimiter(l.rate, l.burst)
		l.buckets[p] = b
	}
	res := b.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return &api.RetryError{Err: api.ErrBusy, After: d}
	}
	return nil
}

// forget drops about an eighth of the table, at random (map order).
func (l *sourceLimits) forget() {
	n := len(l.buckets) / 8
	for p := range l.buckets {
		if n == 0 {
			return
		}
		delete(l.buckets, p)
		n--
	}
}
