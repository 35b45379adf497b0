package channel

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/replay"
)

// tapConn is a net.Conn that keeps a copy of every byte written to it:
// what an attacker on the path records of the client's stream.
type tapConn struct {
	net.Conn
	mu  sync.Mutex
	out bytes.Buffer
}

func (r *tapConn) Write(p []byte) (int, error) {
	r.mu.Lock()
	r.out.Write(p)
	r.mu.Unlock()
	return r.Conn.Write(p)
}

func (r *tapConn) recorded() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.out.Bytes())
}

// seedIdentityConfigs returns a seed client and an identity-mode server
// of an identity no other test uses, so that its epochs are its own.
func seedIdentityConfigs(t testing.TB) (client, server *Config) {
	client, server = pair(t, Seed, "rsa-2048", false)
	server.Identity = freshIdentity(t, server.Identity)
	client.Peer = server.Identity.Recipient()
	server.Limits.HandshakeTimeout = 5 * time.Second
	return client, server
}

// freshIdentity returns a copy of id under a new pointer: to the
// process's epoch table, another server of the same key, as after a
// restart.
func freshIdentity(t testing.TB, id *keyblob.Identity) *keyblob.Identity {
	t.Helper()
	b, err := id.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	again, err := keyblob.ParseIdentity(b)
	if err != nil {
		t.Fatal(err)
	}
	return again
}

// seedServerLog starts a seed server that reads everything of each
// session and reports, per session, the data it read and the error that
// ended it (nil for a clean end).
type serverResult struct {
	data []byte
	err  error
}

func seedServerLog(t *testing.T, cfg *Config) (string, <-chan serverResult) {
	results := make(chan serverResult, 16)
	addr := listen(t, cfg, func(c net.Conn) {
		data, err := io.ReadAll(c)
		results <- serverResult{data, err}
	})
	return addr, results
}

// recordSession runs one genuine client session through a tapConn and
// returns what the client sent.
func recordSession(t *testing.T, addr string, cfg *Config, msg string) []byte {
	t.Helper()
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	rec := &tapConn{Conn: raw}
	c, err := Client(rec, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	return rec.recorded()
}

// replayStream opens a new connection, reads the server's hello and
// sends the recorded client stream whole.
func replayStream(t *testing.T, addr string, stream []byte) {
	t.Helper()
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := newFrameReader(raw).next(seedMaxHello); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Write(stream); err != nil {
		t.Fatal(err)
	}
	raw.(*net.TCPConn).CloseWrite()
	io.Copy(io.Discard, raw) // until the server closes
}

// TestSeedReplayRefused records a whole client stream to an identity-mode
// server and replays it into a new connection: the server refuses it
// before it releases any data, as often as it is tried, and fresh
// sessions still work, before and after.
func TestSeedReplayRefused(t *testing.T) {
	ccfg, scfg := seedIdentityConfigs(t)
	addr, results := seedServerLog(t, scfg)
	stream := recordSession(t, addr, ccfg, "transfer 100 to mallory")
	if r := <-results; r.err != nil || string(r.data) != "transfer 100 to mallory" {
		t.Fatalf("genuine session: %q, %v", r.data, r.err)
	}
	for range 3 {
		replayStream(t, addr, stream)
		r := <-results
		if !errors.Is(r.err, ErrAuth) || !errors.Is(r.err, replay.ErrReplay) || len(r.data) != 0 {
			t.Fatalf("replayed stream: server read %q, %v; want nothing and ErrAuth, replay.ErrReplay", r.data, r.err)
		}
	}
	for i := range 3 {
		recordSession(t, addr, ccfg, "fresh")
		if r := <-results; r.err != nil || string(r.data) != "fresh" {
			t.Fatalf("fresh session %d after the replays: %q, %v", i, r.data, r.err)
		}
	}
	if e := epochOf(t, scfg); len(e.seen) != 4 {
		t.Errorf("the epoch holds %d sessions, want 4", len(e.seen))
	}
}

// epochOf returns the current epoch of an identity-mode config.
func epochOf(t testing.TB, cfg *Config) *seedEpoch {
	t.Helper()
	s, err := cfg.epochSourceOf()
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// TestSeedReplayRestart replays a recorded stream into a restarted
// server of the same identity (a new epoch source: epoch keys live in
// memory only): it is refused, as into the server that recorded it.
func TestSeedReplayRestart(t *testing.T) {
	ccfg, scfg := seedIdentityConfigs(t)
	addr, results := seedServerLog(t, scfg)
	stream := recordSession(t, addr, ccfg, "once")
	<-results
	restarted := *scfg
	restarted.Identity = freshIdentity(t, scfg.Identity)
	addr2, results2 := seedServerLog(t, &restarted)
	replayStream(t, addr2, stream)
	if r := <-results2; !errors.Is(r.err, ErrAuth) || len(r.data) != 0 {
		t.Fatalf("replay into a restarted server: read %q, %v; want nothing and ErrAuth", r.data, r.err)
	}
}

// TestSeedEpochRotates checks that an epoch ends after its sessions and
// after its time, that the next key takes over without a session
// failing for long, and that a stream recorded under an ended epoch is
// refused.
func TestSeedEpochRotates(t *testing.T) {
	ccfg, scfg := seedIdentityConfigs(t)
	scfg.SeedEpoch = 300 * time.Millisecond
	addr, results := seedServerLog(t, scfg)
	stream := recordSession(t, addr, ccfg, "before")
	<-results
	first := epochOf(t, scfg)
	deadline := time.Now().Add(20 * time.Second)
	for epochOf(t, scfg) == first {
		if time.Now().After(deadline) {
			t.Fatal("the epoch did not end after its time")
		}
		recordSession(t, addr, ccfg, "during")
		if r := <-results; r.err != nil && !errors.Is(r.err, ErrOverloaded) {
			t.Fatalf("a session while the epoch ends: %v", r.err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	replayStream(t, addr, stream)
	if r := <-results; !errors.Is(r.err, ErrAuth) || len(r.data) != 0 {
		t.Fatalf("replay of a past epoch: read %q, %v; want nothing and ErrAuth", r.data, r.err)
	}
}

// TestSeedEpochSpent checks that a spent epoch with no successor ready
// refuses with ErrOverloaded, and that its successor then takes over.
func TestSeedEpochSpent(t *testing.T) {
	_, scfg := seedIdentityConfigs(t)
	src, err := scfg.epochSourceOf()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := src.prepare(now); err != nil {
		t.Fatal(err)
	}
	src.mu.Lock()
	src.cur.sent, src.making = seedEpochSessions, true // spent; a successor "on its way"
	src.mu.Unlock()
	if _, err := src.current(now); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("a spent epoch without successor: %v, want ErrOverloaded", err)
	}
	src.makeNext(now)
	e, err := src.current(now)
	if err != nil || e.sent != 1 {
		t.Fatalf("after the successor was made: %v (sent %v)", err, e)
	}
}

func mustSessions(ccfg, scfg *Config) (c, s *Session) {
	c, err := NewClientSession(ccfg)
	if err != nil {
		panic(err)
	}
	if s, err = NewServerSession(scfg); err != nil {
		panic(err)
	}
	return c, s
}

// TestSeedReplaySession replays a recorded initial message into a new
// server session, with the record after it: the initial message is
// refused, so no record opens.
func TestSeedReplaySession(t *testing.T) {
	ccfg, scfg := seedIdentityConfigs(t)
	c, s := mustSessions(ccfg, scfg)
	hello, _ := s.NextHandshakeMessage()
	if _, err := c.ReadHandshakeMessage(hello); err != nil {
		t.Fatal(err)
	}
	initial, _ := c.NextHandshakeMessage()
	recorded := bytes.Clone(initial)
	if _, err := s.ReadHandshakeMessage(initial); err != nil {
		t.Fatal(err)
	}
	_, s2 := mustSessions(ccfg, scfg)
	s2.NextHandshakeMessage()
	if _, err := s2.ReadHandshakeMessage(recorded); !errors.Is(err, ErrAuth) || !errors.Is(err, replay.ErrReplay) {
		t.Fatalf("replayed initial message: %v", err)
	}
	if s2.HandshakeComplete() {
		t.Fatal("a replayed initial message completed the handshake")
	}
}

// TestSeedEpochRecordConcurrent checks the atomic first-use insert: of
// concurrent records of one id exactly one succeeds.
func TestSeedEpochRecordConcurrent(t *testing.T) {
	e := &seedEpoch{seen: map[[replay.IDSize]byte]struct{}{}}
	id := bytes.Repeat([]byte{7}, replay.IDSize)
	var ok, replayed atomic.Int32
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			switch err := e.record(id); {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, replay.ErrReplay):
				replayed.Add(1)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 || replayed.Load() != 31 {
		t.Fatalf("%d records succeeded and %d were replays, want 1 and 31", ok.Load(), replayed.Load())
	}
}

// TestIdentityHelloSignedOnce checks that an identity-mode server sends
// one signed hello for all the sessions of an epoch, that clients accept
// it every time, and that a fresh-key server still signs each of its
// keys.
func TestIdentityHelloSignedOnce(t *testing.T) {
	ccfg, scfg := seedIdentityConfigs(t)
	hello := func(scfg *Config) []byte {
		c, s := mustSessions(ccfg, scfg)
		h, err := s.NextHandshakeMessage()
		if err != nil {
			t.Fatal(err)
		}
		msg := bytes.Clone(h)
		if _, err := c.ReadHandshakeMessage(h); err != nil {
			t.Fatalf("client refused the hello: %v", err)
		}
		return msg
	}
	if a, b := hello(scfg), hello(scfg); !bytes.Equal(a, b) {
		t.Error("two identity-mode hellos of one epoch differ")
	}
	fresh := *scfg
	fresh.SeedKey, fresh.hooks = SeedKeyFresh, &testHooks{seedKey: fixedSeedKey(t)}
	if a, b := hello(&fresh), hello(&fresh); bytes.Equal(a, b) {
		t.Error("two fresh-key hellos of one key are identical: signed once (RSA-PSS is randomized)")
	}
}
