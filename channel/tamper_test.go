package channel

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/keyblob/keyblob/internal/suite"
)

// The record attacks of the issue: replayed, reordered, dropped,
// reflected, cut and bit-flipped records, each at least 1,000 times per
// profile over TCP, all rejected with ErrAuth and the session closed;
// and at the message level, a forged record never advances the receive
// counter.

// tamperSetups are the ends of each profile for the record attacks: v2
// with X25519 identities and seed with a fixed session key (a test
// hook), so that the 1,000 handshakes cost little.
func tamperSetups(t testing.TB) []struct {
	name       string
	ccfg, scfg *Config
} {
	v2c, v2s := pair(t, V2, "x25519", false)
	seedc, seeds := pair(t, Seed, "hybrid", false)
	seeds.hooks = &testHooks{seedKey: fixedSeedKey(t)}
	return []struct {
		name       string
		ccfg, scfg *Config
	}{{"v2", v2c, v2s}, {"seed", seedc, seeds}}
}

// fixedSeedKey is one RSA-2048 key for the tests that need a seed key
// without generating one per session: the key of a stored vector.
func fixedSeedKey(tb testing.TB) suite.ExchangePrivate {
	for _, v := range loadVectors(tb) {
		if v.fields["seed key"] != "" {
			_, scfg := v.configs(tb)
			return scfg.hooks.seedKey
		}
	}
	tb.Fatal("no vector with a seed key")
	return nil
}

// tamperTries is the number of tries per profile: 1,000, or 100 in
// -short mode.
func tamperTries() int {
	if testing.Short() {
		return 100
	}
	return 1000
}

// tamperings are the attacks: each returns the frames to send after an
// honest handshake (the last one is the bad one) and how many genuine
// records come first.
var tamperings = []struct {
	name  string
	build func(p *rawPeer, r *rand.Rand, other []byte) (frames [][]byte, genuine int)
}{
	{"bit flip", func(p *rawPeer, r *rand.Rand, _ []byte) ([][]byte, int) {
		rec := p.seal("flip me")
		pos := r.IntN(len(rec))
		rec[pos] ^= 1 << r.IntN(8)
		return [][]byte{rec}, 0
	}},
	{"replay", func(p *rawPeer, r *rand.Rand, _ []byte) ([][]byte, int) {
		rec := p.seal("once")
		return [][]byte{rec, rec}, 1
	}},
	{"reorder", func(p *rawPeer, r *rand.Rand, _ []byte) ([][]byte, int) {
		first, second := p.seal("first"), p.seal("second")
		return [][]byte{second, first}, 0
	}},
	{"drop", func(p *rawPeer, r *rand.Rand, _ []byte) ([][]byte, int) {
		kept := p.seal("kept")
		p.seal("dropped")
		return [][]byte{kept, p.seal("after the gap")}, 1
	}},
	{"reflect", func(p *rawPeer, r *rand.Rand, _ []byte) ([][]byte, int) {
		return [][]byte{reflectedRecord(p, "the server's own direction")}, 0
	}},
	{"cut", func(p *rawPeer, r *rand.Rand, _ []byte) ([][]byte, int) {
		rec := p.seal("cut me")
		return [][]byte{rec[:r.IntN(len(rec))]}, 0
	}},
	{"other session", func(p *rawPeer, r *rand.Rand, other []byte) ([][]byte, int) {
		return [][]byte{other}, 0
	}},
}

// TestTamperedRecordsCloseSession sends each attack to a real server
// Conn over TCP, many times: the genuine records before it arrive, the
// attack is ErrAuth (the same value every time), and the server closes
// the connection without sending anything.
func TestTamperedRecordsCloseSession(t *testing.T) {
	for _, setup := range tamperSetups(t) {
		t.Run(setup.name, func(t *testing.T) {
			results := make(chan tamperResult, 1)
			addr := listen(t, setup.scfg, func(c net.Conn) { results <- readAll(c.(*Conn)) })
			other := recordOfAnotherSession(t, setup.ccfg, setup.scfg)
			r := rand.New(rand.NewPCG(1, 2))
			counts := map[string]int{}
			for try := range tamperTries() {
				tm := tamperings[try%len(tamperings)]
				p := dialRaw(t, addr, setup.ccfg)
				p.relay()
				frames, genuine := tm.build(p, r, other)
				for _, f := range frames {
					p.send(f)
				}
				closed := peerSeesClose(p)
				p.conn.Close()
				res := <-results
				if res.err != ErrAuth || res.records != genuine || !closed {
					t.Fatalf("try %d (%s): server %v after %d records (want ErrAuth after %d), closed silently %v",
						try, tm.name, res.err, res.records, genuine, closed)
				}
				counts[tm.name]++
			}
			t.Logf("%d tries: %v", tamperTries(), counts)
		})
	}
}

type tamperResult struct {
	records int
	err     error
}

// readAll reads a server Conn until it fails and counts the reads.
func readAll(c *Conn) tamperResult {
	var res tamperResult
	if res.err = c.Handshake(); res.err != nil {
		return res
	}
	buf := make([]byte, 1<<16)
	for {
		if _, err := c.Read(buf); err != nil {
			res.err = err
			return res
		}
		res.records++
	}
}

// dialRaw connects a scripted client with an honest session.
func dialRaw(t testing.TB, addr string, cfg *Config) *rawPeer {
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := NewClientSession(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &rawPeer{t: t, conn: raw, sess: sess, fr: newFrameReader(raw), cfg: cfg}
}

// peerSeesClose reports whether the real end closed the connection
// without sending one byte: a FIN, or a reset when frames the attacker
// sent after the bad one were still unread (TCP resets a connection
// closed with unread data).
func peerSeesClose(p *rawPeer) bool {
	p.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := io.Copy(io.Discard, p.conn)
	return n == 0 && (err == nil || errors.Is(err, syscall.ECONNRESET))
}

// recordOfAnotherSession returns a client record of an honest session
// between other ends with the same configs.
func recordOfAnotherSession(t testing.TB, ccfg, scfg *Config) []byte {
	c, _ := sessions(t, ccfg, scfg)
	rec, err := c.Seal(nil, []byte("from another session"))
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestForgedRecordsDoNotAdvance forges records at the message level, at
// least 1,000 per profile, and checks that each is ErrAuth and that the
// genuine record still opens after it: the forgery moved nothing.
func TestForgedRecordsDoNotAdvance(t *testing.T) {
	for _, setup := range tamperSetups(t) {
		t.Run(setup.name, func(t *testing.T) {
			c, s := sessions(t, setup.ccfg, setup.scfg)
			other := recordOfAnotherSession(t, setup.ccfg, setup.scfg)
			back, err := s.Seal(nil, []byte("server record"))
			if err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(3, 4))
			tries := 0
			var previous []byte
			for n := 0; tries < tamperTries(); n++ {
				rec, err := c.Seal(nil, []byte(fmt.Sprintf("record %d", n)))
				if err != nil {
					t.Fatal(err)
				}
				next, _ := c.Seal(nil, []byte("the one after"))
				forgeries := [][]byte{
					flipAt(rec, r.IntN(len(rec)), r.IntN(8)), rec[:r.IntN(len(rec))],
					next, other, back, previous,
				}
				for _, f := range forgeries {
					if f == nil {
						continue
					}
					if _, _, err := s.Open(bytes.Clone(f)); err != ErrAuth {
						t.Fatalf("forgery %d: %v, want ErrAuth", tries, err)
					}
					tries++
				}
				for _, genuine := range [][]byte{rec, next} {
					if _, _, err := s.Open(bytes.Clone(genuine)); err != nil {
						t.Fatalf("after %d forgeries the genuine record fails: %v", tries, err)
					}
				}
				previous = next
			}
		})
	}
}

func flipAt(b []byte, pos, bit int) []byte {
	b = bytes.Clone(b)
	b[pos] ^= 1 << bit
	return b
}

// TestV2ReplayedPhases replays the phase 1 and phase 3 of recorded
// sessions into new connections: none yields a session.
func TestV2ReplayedPhases(t *testing.T) {
	ccfg, scfg := pair(t, V2, "x25519", true)
	results := make(chan tamperResult, 1)
	addr := listen(t, scfg, func(c net.Conn) { results <- readAll(c.(*Conn)) })
	tries := 100
	if testing.Short() {
		tries = 20
	}
	for try := range tries {
		recorded := replayedSession(t, ccfg, scfg)
		p := dialRaw(t, addr, ccfg)
		p.send(recorded[0])
		if p.recv() == nil {
			t.Fatal("no phase 2 for a replayed phase 1")
		}
		if try%2 == 0 {
			p.send(recorded[2])
		}
		p.conn.Close()
		res := <-results
		want := ErrAuth
		if try%2 == 1 {
			want = ErrHandshake // no phase 3 at all
		}
		if !errors.Is(res.err, want) {
			t.Fatalf("try %d: replay gave %v, want %v", try, res.err, want)
		}
	}
}

// replayedSession records the three messages of an honest session.
func replayedSession(t testing.TB, ccfg, scfg *Config) [][]byte {
	log, err := runVector(t, ccfg, scfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return log.msgs
}
