package channel

import (
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/cert"
)

// testCA is a built-in CA of the tests, issuing for identities.
type testCA struct {
	id   *keyblob.Identity
	cert *x509.Certificate
}

func newTestCA(t testing.TB, key string) *testCA {
	t.Helper()
	id := testIdentity(t, key)
	der, err := cert.NewCA(id, "Test CA", 24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{id: id, cert: c}
}

// issue certifies id for names and returns its chain (leaf, CA).
func (ca *testCA) issue(t testing.TB, id *keyblob.Identity, names cert.Names) [][]byte {
	t.Helper()
	leaf, err := cert.Certify(ca.cert, ca.id, id, names, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return [][]byte{leaf, ca.cert.Raw}
}

// verifier checks a chain against the CA for a name and usage, as the
// CLI does.
func (ca *testCA) verifier(name string, usage cert.Usage) func([][]byte) (*Certified, error) {
	return func(chain [][]byte) (*Certified, error) {
		certs, err := cert.ParseDERChain(chain)
		if err != nil {
			return nil, err
		}
		v, err := cert.Verify(certs, cert.VerifyOptions{Roots: []*x509.Certificate{ca.cert}, Name: name, Usage: usage})
		if err != nil {
			return nil, err
		}
		return &Certified{Recipient: v.Recipient, Name: name}, nil
	}
}

// TestCertifiedServer runs v2 sessions to a server known only by a CA:
// the right name works and is reported; a wrong name, another CA, and a
// server that presents a valid certificate of another identity (the
// unknown-key-share case: it cannot decapsulate) are refused.
func TestCertifiedServer(t *testing.T) {
	ca, other := newTestCA(t, "alice-hybrid"), newTestCA(t, "alice-rsa-2048")
	bob, carol := testIdentity(t, "bob-hybrid"), testIdentity(t, "bob-x25519")
	bobChain := ca.issue(t, bob, cert.Names{DNS: []string{"db.example.com"}})
	tests := []struct {
		name   string
		server *Config
		verify func([][]byte) (*Certified, error)
		want   error
	}{
		{"certified", &Config{Identity: bob, Certificate: bobChain}, ca.verifier("db.example.com", cert.Server), nil},
		{"wrong name", &Config{Identity: bob, Certificate: bobChain}, ca.verifier("www.example.com", cert.Server), ErrCertificate},
		{"another CA", &Config{Identity: bob, Certificate: bobChain}, other.verifier("db.example.com", cert.Server), ErrCertificate},
		{"another identity's certificate", &Config{Identity: carol, Certificate: bobChain}, ca.verifier("db.example.com", cert.Server), ErrHandshake},
		{"server without certificate", &Config{Identity: bob}, ca.verifier("db.example.com", cert.Server), ErrHandshake},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := &Config{VerifyServerCertificate: tt.verify}
			c, s := mustSessions(client, tt.server)
			_, err := handshakeSessions(c, s)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				st := c.State()
				if st.PeerName != "db.example.com" || !st.Peer.Equal(bob.Recipient()) {
					t.Errorf("client state: peer %v, name %q", st.Peer, st.PeerName)
				}
				return
			}
			if !errors.Is(err, tt.want) && !(tt.want == ErrHandshake && errors.Is(err, ErrAuth)) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// TestCertifiedClient runs v2 sessions whose client authenticates by a
// certificate: accepted with its name; refused for a name the server
// does not authorize, without a certificate, and when phase 1 names
// another key than the certificate.
func TestCertifiedClient(t *testing.T) {
	ca := newTestCA(t, "alice-hybrid")
	bob, alice := testIdentity(t, "bob-hybrid"), testIdentity(t, "alice-x25519")
	aliceChain := ca.issue(t, alice, cert.Names{Email: []string{"alice@example.com"}})
	tests := []struct {
		name   string
		client *Config
		want   error
	}{
		{"certified", &Config{Peer: bob.Recipient(), Identity: alice, Certificate: aliceChain}, nil},
		{"no certificate", &Config{Peer: bob.Recipient(), Identity: alice}, ErrUnauthorized},
		{"another key than the certificate", &Config{Peer: bob.Recipient(), Identity: testIdentity(t, "bob-x25519"), Certificate: aliceChain}, ErrUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := &Config{Identity: bob, VerifyClientCertificate: ca.verifier("alice@example.com", cert.Client)}
			c, s := mustSessions(tt.client, server)
			_, err := handshakeSessions(c, s)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if st := s.State(); st.PeerName != "alice@example.com" || !st.Peer.Equal(alice.Recipient()) {
					t.Errorf("server state: peer %v, name %q", st.Peer, st.PeerName)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	server := &Config{Identity: bob, VerifyClientCertificate: ca.verifier("mallory@example.com", cert.Client)}
	c, s := mustSessions(&Config{Peer: bob.Recipient(), Identity: alice, Certificate: aliceChain}, server)
	if _, err := handshakeSessions(c, s); !errors.Is(err, ErrUnauthorized) || !errors.Is(err, ErrCertificate) {
		t.Fatalf("a client certified for another name: %v", err)
	}
}

// TestCertifiedSeedServer runs seed sessions (fresh and identity mode)
// to a server known only by a CA: the chain comes in the hello between
// the key and the signature, and the certified identity's signature
// over the key is checked. A wrong name is refused, and a client that
// pins the server the old way cannot read such a hello (section 3.9).
func TestCertifiedSeedServer(t *testing.T) {
	ca := newTestCA(t, "alice-hybrid")
	bob := freshIdentity(t, testIdentity(t, "bob-hybrid"))
	chain := ca.issue(t, bob, cert.Names{DNS: []string{"db.example.com"}})
	for _, mode := range []SeedKey{SeedKeyFresh, SeedKeyIdentity} {
		server := &Config{Profile: Seed, Identity: bob, SeedKey: mode, Certificate: chain}
		if mode == SeedKeyFresh {
			server.hooks = &testHooks{seedKey: fixedSeedKey(t)}
		}
		client := &Config{Profile: Seed, VerifyServerCertificate: ca.verifier("db.example.com", cert.Server)}
		c, s := mustSessions(client, server)
		if _, err := handshakeSessions(c, s); err != nil {
			t.Fatalf("seed %v: %v", mode, err)
		}
		if st := c.State(); st.PeerName != "db.example.com" || !st.Peer.Equal(bob.Recipient()) {
			t.Errorf("seed %v: client state: peer %v, name %q", mode, st.Peer, st.PeerName)
		}
		wrong := &Config{Profile: Seed, VerifyServerCertificate: ca.verifier("www.example.com", cert.Server)}
		c, s = mustSessions(wrong, server)
		if _, err := handshakeSessions(c, s); !errors.Is(err, ErrCertificate) {
			t.Errorf("seed %v, wrong name: %v", mode, err)
		}
		pinned := &Config{Profile: Seed, Peer: bob.Recipient()}
		c, s = mustSessions(pinned, server)
		if _, err := handshakeSessions(c, s); !errors.Is(err, ErrHandshake) {
			t.Errorf("seed %v, pinned client: %v", mode, err)
		}
	}
}
