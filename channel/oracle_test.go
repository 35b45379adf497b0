package channel

import (
	"bytes"
	"crypto/rand"
	"io"
	mrand "math/rand/v2"
	"net"
	"slices"
	"testing"
	"time"
)

// The seed profile's one observable outcome (spec/channel.md 3.6): every
// padding and MAC probe, on the initial message (the RSA step) and on
// records, ends with the same error value at the server and the same
// silent close at the prober, and the RSA step takes the same time
// whether OAEP decoding failed or the MAC did.

// seedProbe makes one probe: the frame to send after an honest hello
// (initial message probes) or after an honest handshake (record probes).
type seedProbe struct {
	name    string
	records bool // sent after the handshake
	make    func(p *rawPeer, initial []byte, r *mrand.Rand) []byte
}

var seedProbes = []seedProbe{
	// The RSA step: Bleichenbacher and Manger probes change the wrapped
	// keys; the MAC then fails after the same work.
	{"wrapped keys bit", false, func(p *rawPeer, m []byte, r *mrand.Rand) []byte {
		return flipAt(m, r.IntN(seedModulus), r.IntN(8))
	}},
	{"wrapped keys random", false, func(p *rawPeer, m []byte, r *mrand.Rand) []byte {
		b := bytes.Clone(m)
		rand.Read(b[1:seedModulus]) // below the modulus: b[0] stays
		return b
	}},
	{"wrapped keys of another length", false, func(p *rawPeer, m []byte, r *mrand.Rand) []byte {
		return append(oaepTo(p.t, "bob-rsa-2048", make([]byte, 1+r.IntN(64)), nil), m[seedModulus:]...)
	}},
	{"initial MAC bit", false, func(p *rawPeer, m []byte, r *mrand.Rand) []byte {
		return flipAt(m, seedModulus+seedBlock+r.IntN(seedMACSize), r.IntN(8))
	}},
	{"initial IV bit (padding)", false, func(p *rawPeer, m []byte, r *mrand.Rand) []byte {
		return flipAt(m, seedModulus+r.IntN(seedBlock), r.IntN(8))
	}},
	{"initial last block (padding)", false, func(p *rawPeer, m []byte, r *mrand.Rand) []byte {
		return flipAt(m, len(m)-1-r.IntN(seedBlock), r.IntN(8))
	}},
	{"initial valid MAC, bad padding", false, func(p *rawPeer, m []byte, r *mrand.Rand) []byte {
		blocks := make([]byte, seedBlock)
		blocks[seedBlock-1] = byte(17 + r.IntN(239))
		return append(bytes.Clone(m[:seedModulus]), seedForge(p.sess.res.send.(*seedHalf), dirClient, 0, blocks)...)
	}},
	{"record MAC bit", true, func(p *rawPeer, _ []byte, r *mrand.Rand) []byte {
		rec := p.seal("probe")
		return flipAt(rec, seedBlock+r.IntN(seedMACSize), r.IntN(8))
	}},
	{"record padding byte", true, func(p *rawPeer, _ []byte, r *mrand.Rand) []byte {
		rec := p.seal("probe")
		return flipAt(rec, len(rec)-1-r.IntN(seedBlock), r.IntN(8))
	}},
	{"record IV bit", true, func(p *rawPeer, _ []byte, r *mrand.Rand) []byte {
		rec := p.seal("probe")
		return flipAt(rec, r.IntN(seedBlock), r.IntN(8))
	}},
	{"record valid MAC, bad padding", true, func(p *rawPeer, _ []byte, r *mrand.Rand) []byte {
		blocks := bytes.Repeat([]byte{byte(r.IntN(256))}, 2*seedBlock)
		blocks[len(blocks)-1] = byte(17 + r.IntN(239))
		h := p.sess.res.send.(*seedHalf)
		return seedForge(h, dirClient, h.seq, blocks)
	}},
}

// TestSeedOneOutcome sends at least 700 padding and MAC probes to a real
// seed server over TCP.
func TestSeedOneOutcome(t *testing.T) {
	ccfg, scfg := pair(t, Seed, "rsa-2048", false)
	results := make(chan tamperResult, 1)
	addr := listen(t, scfg, func(c net.Conn) { results <- readAll(c.(*Conn)) })
	probes := 770
	if testing.Short() {
		probes = 110
	}
	r := mrand.New(mrand.NewPCG(5, 6))
	for i := range probes {
		pr := seedProbes[i%len(seedProbes)]
		p := dialRaw(t, addr, ccfg)
		p.read(p.recv())
		initial := p.next()
		if pr.records {
			p.send(initial)
			p.send(pr.make(p, initial, r))
		} else {
			p.send(pr.make(p, initial, r))
		}
		// One frame, read whole by the server: the close is a FIN.
		p.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := p.conn.Read(make([]byte, 1))
		closedClean := n == 0 && err == io.EOF
		p.conn.Close()
		res := <-results
		if res.err != ErrAuth || res.records != 0 || !closedClean {
			t.Fatalf("probe %d (%s): server %v after %d records, prober saw %d bytes and %v", i, pr.name, res.err, res.records, n, err)
		}
	}
}

// TestSeedTimingClass times the server's handling of initial messages
// whose OAEP decoding fails and of ones whose OAEP succeeds but whose MAC
// fails: the RSA step dominates both, and their medians must agree
// within 25 %.
func TestSeedTimingClass(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector slows the Go paths and not the assembly ones: timings say nothing")
	}
	key := fixedSeedKey(t)
	scfg := &Config{Profile: Seed, hooks: &testHooks{seedKey: key}}
	ccfg := &Config{Profile: Seed, Insecure: true}
	n := 151
	if testing.Short() {
		n = 31
	}
	r := mrand.New(mrand.NewPCG(7, 8))
	var oaepBad, macBad []time.Duration
	for i := range 2 * n {
		c, s := newSeedPair(t, ccfg, scfg)
		hello, _ := s.NextHandshakeMessage()
		c.ReadHandshakeMessage(hello)
		m, _ := c.NextHandshakeMessage()
		if i%2 == 0 {
			m = flipAt(m, r.IntN(seedModulus), r.IntN(8))
		} else {
			m = flipAt(m, seedModulus+seedBlock, 0)
		}
		start := time.Now()
		_, err := s.ReadHandshakeMessage(m)
		d := time.Since(start)
		if err != ErrAuth {
			t.Fatalf("probe %d: %v", i, err)
		}
		if i%2 == 0 {
			oaepBad = append(oaepBad, d)
		} else {
			macBad = append(macBad, d)
		}
	}
	a, b := median(oaepBad), median(macBad)
	if ratio := float64(a) / float64(b); ratio < 0.8 || ratio > 1.25 {
		t.Errorf("median time with a bad OAEP %v, with a bad MAC %v: ratio %.2f", a, b, ratio)
	}
	t.Logf("median: OAEP failure %v, MAC failure %v", a, b)
}

func newSeedPair(t *testing.T, ccfg, scfg *Config) (c, s *Session) {
	c, err := NewClientSession(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	if s, err = NewServerSession(scfg); err != nil {
		t.Fatal(err)
	}
	return c, s
}

func median(ds []time.Duration) time.Duration {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2]
}
