package channel

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
// with its own replay cache of max ids.
func seedIdentityConfigs(t testing.TB, max int) (client, server *Config, cache *MemorySeedReplay) {
	client, server = pair(t, Seed, "rsa-2048", false)
	cache = NewMemorySeedReplay(max)
	server.SeedReplay = cache
	server.Limits.HandshakeTimeout = 5 * time.Second
	return client, server, cache
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
	ccfg, scfg, cache := seedIdentityConfigs(t, 64)
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
	if cache.Len() != 4 {
		t.Errorf("the cache holds %d sessions, want 4", cache.Len())
	}
}

// TestSeedReplayRestart shows the limit the spec states: a server with a
// new in-memory cache (a restart) accepts a stream recorded before.
func TestSeedReplayRestart(t *testing.T) {
	ccfg, scfg, _ := seedIdentityConfigs(t, 64)
	addr, results := seedServerLog(t, scfg)
	stream := recordSession(t, addr, ccfg, "once")
	<-results
	restarted := *scfg
	restarted.SeedReplay = NewMemorySeedReplay(64)
	addr2, results2 := seedServerLog(t, &restarted)
	replayStream(t, addr2, stream)
	if r := <-results2; r.err != nil || string(r.data) != "once" {
		t.Fatalf("replay into a restarted server: %q, %v; the spec says it is accepted", r.data, r.err)
	}
}

// TestSeedReplayFull checks that a full cache refuses new sessions
// (fail closed) rather than forget one, and that fresh-key servers record
// nothing.
func TestSeedReplayFull(t *testing.T) {
	ccfg, scfg, cache := seedIdentityConfigs(t, 2)
	for i := range 3 {
		c, s := mustSessions(ccfg, scfg)
		_, err := handshakeSessions(c, s)
		switch {
		case i < 2 && err != nil:
			t.Fatalf("session %d: %v", i, err)
		case i == 2 && !errors.Is(err, ErrSeedReplayFull):
			t.Fatalf("session over the capacity: %v, want ErrSeedReplayFull", err)
		}
	}
	if cache.Len() != 2 {
		t.Errorf("the cache holds %d ids, want 2", cache.Len())
	}
	fresh := *scfg
	fresh.SeedKey, fresh.hooks = SeedKeyFresh, &testHooks{seedKey: fixedSeedKey(t)}
	sessions(t, ccfg, &fresh)
	if cache.Len() != 2 {
		t.Errorf("a fresh-key session was recorded: %d ids", cache.Len())
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
	ccfg, scfg, _ := seedIdentityConfigs(t, 8)
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

// TestMemorySeedReplayConcurrent checks the atomic first-use insert: of
// concurrent Records of one id exactly one succeeds.
func TestMemorySeedReplayConcurrent(t *testing.T) {
	m := NewMemorySeedReplay(4)
	id := bytes.Repeat([]byte{7}, replay.IDSize)
	var ok, replayed atomic.Int32
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			switch err := m.Record(context.Background(), id, time.Now()); {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, replay.ErrReplay):
				replayed.Add(1)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 || replayed.Load() != 31 {
		t.Fatalf("%d Records succeeded and %d were replays, want 1 and 31", ok.Load(), replayed.Load())
	}
	if err := m.Record(context.Background(), id[:31], time.Now()); err == nil {
		t.Fatal("a 31-byte id was recorded")
	}
}
