package channel

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/keyblob/keyblob"
)

// keysDir holds the module's test identities (made by the root package's
// vector generator).
const keysDir = "../testdata/keys"

var (
	keyCacheMu sync.Mutex
	idCache    = map[string]*keyblob.Identity{}
)

// testIdentity returns testdata/keys/NAME.key, parsed once.
func testIdentity(tb testing.TB, name string) *keyblob.Identity {
	tb.Helper()
	keyCacheMu.Lock()
	defer keyCacheMu.Unlock()
	if id, ok := idCache[name]; ok {
		return id
	}
	data, err := os.ReadFile(filepath.Join(keysDir, name+".key"))
	if err != nil {
		tb.Fatal(err)
	}
	id, err := keyblob.ParseIdentity(data)
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	idCache[name] = id
	return id
}

// pair makes the configs of a client and a server: the server is bob of
// the given kind; with mutual, the client is alice of the same kind.
func pair(tb testing.TB, profile Profile, kind string, mutual bool) (client, server *Config) {
	bob := testIdentity(tb, "bob-"+kind)
	server = &Config{Profile: profile, Identity: bob}
	client = &Config{Profile: profile, Peer: bob.Recipient()}
	if mutual {
		client.Identity = testIdentity(tb, "alice-"+kind)
	}
	if profile == Seed {
		server.SeedKey = SeedKeyIdentity
		if kind != "rsa-2048" {
			server.SeedKey = SeedKeyFresh
		}
	}
	return client, server
}

// handshakeSessions runs the handshake of two sessions by passing their
// messages, and returns the first error.
func handshakeSessions(c, s *Session) (early []byte, err error) {
	for i := 0; i < 10 && !(c.HandshakeComplete() && s.HandshakeComplete()); i++ {
		for _, ends := range [][2]*Session{{c, s}, {s, c}} {
			msg, err := ends[0].NextHandshakeMessage()
			if err != nil {
				return nil, err
			}
			if msg == nil {
				continue
			}
			data, err := ends[1].ReadHandshakeMessage(msg)
			if err != nil {
				return nil, err
			}
			early = append(early, data...)
		}
	}
	return early, nil
}

// sessions returns two sessions after their handshake.
func sessions(tb testing.TB, ccfg, scfg *Config) (c, s *Session) {
	tb.Helper()
	c, err := NewClientSession(ccfg)
	if err != nil {
		tb.Fatal(err)
	}
	s, err = NewServerSession(scfg)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := handshakeSessions(c, s); err != nil {
		tb.Fatal(err)
	}
	return c, s
}
