package channel

import (
	"cmp"
	"net"
	"net/netip"
	"sync"

	"golang.org/x/time/rate"
)

// Handshake admission by source: which connections share a rate, and
// the bounded tables of their limiters.

// prefixFactor is how many sources' rate and burst one network gets by
// default: a few machines behind one /24 still get in, a host with a
// whole /64 or many addresses of a /24 gets no more than that.
const prefixFactor = 4

// sourceKeys is the one place saying which connections share a
// handshake rate: the source is an IPv4 address or an IPv6 /64 (the
// least a site is given), the network an IPv4 /24 or an IPv6 /48. Other
// addresses (unix sockets) are their own source and network.
func sourceKeys(addr net.Addr) (source, network string) {
	ta, ok := addr.(*net.TCPAddr)
	if !ok {
		return addr.String(), addr.String()
	}
	ip, ok := netip.AddrFromSlice(ta.IP)
	if !ok {
		return addr.String(), addr.String()
	}
	ip = ip.Unmap()
	if ip.Is4() {
		return ip.String(), prefixOf(ip, 24)
	}
	return prefixOf(ip, 64), prefixOf(ip, 48)
}

func prefixOf(ip netip.Addr, bits int) string {
	p, _ := ip.Prefix(bits)
	return p.String()
}

// admission is a Server's three rates: per source, per network, global.
type admission struct {
	source, network *rateTable
	global          *rate.Limiter
}

func (s *Server) newAdmission() *admission {
	perSec := cmp.Or(s.HandshakeRate, DefaultHandshakeRate)
	burst := cmp.Or(s.HandshakeBurst, max(1, int(perSec)))
	netRate := cmp.Or(s.PrefixRate, prefixFactor*perSec)
	global := cmp.Or(s.GlobalHandshakeRate, DefaultGlobalHandshakeRate)
	tracked := cmp.Or(s.MaxSources, DefaultMaxSources)
	return &admission{
		source:  newRateTable(perSec, burst, tracked),
		network: newRateTable(netRate, prefixFactor*burst, tracked),
		global:  rate.NewLimiter(rate.Limit(global), max(1, int(global))),
	}
}

// allow reports "" if a handshake from addr is within every rate, else
// the name of the one it is over.
func (a *admission) allow(addr net.Addr) string {
	source, network := sourceKeys(addr)
	switch {
	case !a.source.allow(source):
		return "source"
	case !a.network.allow(network):
		return "network"
	case !a.global.Allow():
		return "global"
	}
	return ""
}

// rateTable is a bounded table of rate limiters by key.
type rateTable struct {
	mu     sync.Mutex
	perSec rate.Limit
	burst  int
	max    int // keys tracked at most
	m      map[string]*rate.Limiter
}

func newRateTable(perSec float64, burst, maxKeys int) *rateTable {
	return &rateTable{perSec: rate.Limit(perSec), burst: burst, max: maxKeys, m: map[string]*rate.Limiter{}}
}

// allow reports whether one more event of key is within its rate. A
// full table forgets the keys back at a full burst; if none is, new keys
// are refused.
func (t *rateTable) allow(key string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	lim, ok := t.m[key]
	if !ok {
		if len(t.m) >= t.max && !t.sweep() {
			return false
		}
		lim = rate.NewLimiter(t.perSec, t.burst)
		t.m[key] = lim
	}
	return lim.Allow()
}

// sweep forgets the keys whose limiter is full again, reporting whether
// any was.
func (t *rateTable) sweep() bool {
	n := len(t.m)
	for k, lim := range t.m {
		if lim.Tokens() >= float64(t.burst) {
			delete(t.m, k)
		}
	}
	return len(t.m) < n
}
