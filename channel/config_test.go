package channel

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/keyblob/keyblob/internal/suite"
)

// TestConfigChecks checks that configs an end cannot run are refused
// with a clear error before any I/O.
func TestConfigChecks(t *testing.T) {
	bob, rsa := testIdentity(t, "bob-hybrid"), testIdentity(t, "bob-rsa-2048")
	pool := &KeyPool{cfg: KeyPoolConfig{Bits: 3072}}
	for _, tc := range []struct {
		name   string
		cfg    Config
		server bool
		want   string
	}{
		{"unknown profile", Config{Profile: 9, Insecure: true}, false, "unknown channel profile"},
		{"client without server", Config{}, false, "no server recipient"},
		{"client with both", Config{Peer: bob.Recipient(), Insecure: true}, false, "exclusive"},
		{"v2 server without identity", Config{}, true, "needs an identity"},
		{"v2 client with Authorized", Config{Insecure: true, Authorized: AuthorizedKeys()}, false, "for servers"},
		{"v2 with seed options", Config{Identity: bob, RSABits: 4096}, true, "for the seed profile"},
		{"MaxMessage too small", Config{Identity: bob, Limits: Limits{MaxMessage: 255}}, true, "MaxMessage"},
		{"MaxMessage too large", Config{Identity: bob, Limits: Limits{MaxMessage: MaxMaxMessage + 1}}, true, "MaxMessage"},
		{"seed client identity", Config{Profile: Seed, Insecure: true, Identity: bob}, false, "no client authentication"},
		{"seed Authorized", Config{Profile: Seed, Authorized: AuthorizedKeys()}, true, "no client authentication"},
		{"seed identity key without identity", Config{Profile: Seed, SeedKey: SeedKeyIdentity}, true, "signature key"},
		{"seed epoch with fresh keys", Config{Profile: Seed, Identity: bob, SeedEpoch: time.Minute}, true, "SeedEpoch is for SeedKeyIdentity"},
		{"seed epoch too long", Config{Profile: Seed, Identity: bob, SeedKey: SeedKeyIdentity, SeedEpoch: 8 * 24 * time.Hour}, true, "SeedEpoch"},
		{"seed identity key with a pool", Config{Profile: Seed, Identity: rsa, SeedKey: SeedKeyIdentity, KeyPool: pool}, true, "KeyPool"},
		{"seed RSA size", Config{Profile: Seed, RSABits: 1024}, true, "RSABits"},
		{"seed pool of another size", Config{Profile: Seed, KeyPool: pool}, true, "3072-bit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.server {
				_, err = NewServerSession(&tc.cfg)
			} else {
				_, err = NewClientSession(&tc.cfg)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
	if _, err := NewKeyPool(KeyPoolConfig{Bits: 1024}); err == nil {
		t.Error("NewKeyPool of 1024-bit keys succeeded")
	}
	if _, err := ParseProfile("v3"); err == nil {
		t.Error("ParseProfile(v3) succeeded")
	}
	for _, name := range Profiles() {
		if p, err := ParseProfile(name); err != nil || p.String() != name {
			t.Errorf("ParseProfile(%q) = %v, %v", name, p, err)
		}
	}
}

// TestRefusedPeers checks, with real ends over TCP, that a client
// refuses a server with another key, and a server a client outside its
// authorized set, in the documented errors.
func TestRefusedPeers(t *testing.T) {
	bob, mallory := testIdentity(t, "bob-hybrid"), testIdentity(t, "mallory-hybrid")
	alice := testIdentity(t, "alice-hybrid")
	serverErrs := make(chan error, 1)
	serve := func(c net.Conn) { serverErrs <- c.(*Conn).Handshake() }

	addr := listen(t, &Config{Identity: mallory}, serve)
	if _, err := Dial("tcp", addr, &Config{Peer: bob.Recipient()}); err != ErrAuth {
		t.Errorf("client to the wrong server: %v, want ErrAuth", err)
	}
	<-serverErrs

	addr = listen(t, &Config{Identity: bob, Authorized: AuthorizedKeys(mallory.Recipient())}, serve)
	if _, err := Dial("tcp", addr, &Config{Peer: bob.Recipient(), Identity: alice}); !errors.Is(err, ErrHandshake) {
		t.Errorf("unlisted client: %v, want ErrHandshake", err)
	}
	if err := <-serverErrs; !errors.Is(err, ErrUnauthorized) {
		t.Errorf("server with an unlisted client: %v, want ErrUnauthorized", err)
	}
	c, err := Dial("tcp", addr, &Config{Peer: bob.Recipient(), Identity: mallory})
	if err != nil {
		t.Fatalf("listed client: %v", err)
	}
	c.Close()
	if err := <-serverErrs; err != nil {
		t.Errorf("server with a listed client: %v", err)
	}
}

// TestIdleTimeout checks that a connection with no traffic for
// Limits.IdleTimeout ends with ErrIdle, while one with traffic lives on,
// and that the peer is told so by the close record.
func TestIdleTimeout(t *testing.T) {
	ccfg, scfg := pair(t, V2, "x25519", false)
	scfg.Limits.IdleTimeout = 150 * time.Millisecond
	client, server := tcpPipe(t, ccfg, scfg)
	defer client.Close()
	defer server.Close()
	go func() {
		for range 4 {
			client.Write([]byte("tick"))
			time.Sleep(50 * time.Millisecond)
		}
	}()
	buf := make([]byte, 16)
	if _, err := io.ReadFull(server, buf); err != nil {
		t.Fatalf("with traffic: %v", err)
	}
	start := time.Now()
	if _, err := server.Read(buf); err != ErrIdle {
		t.Errorf("idle: %v, want ErrIdle", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("idle timeout after %v", d)
	}
	var ce *CloseError
	if _, err := client.Read(buf); !errors.As(err, &ce) || ce.Reason != CloseIdle {
		t.Errorf("the idle connection's peer: %v, want the close reason idle timeout", err)
	}
}

// TestEncapsulateLowOrderKey: a peer's X25519 key whose product with
// every scalar is zero cannot be encapsulated to; the failure is a
// handshake failure (spec/channel.md section 2, "a key of the wrong
// kind"), not a bare crypto/ecdh error.
func TestEncapsulateLowOrderKey(t *testing.T) {
	for _, u := range [][]byte{make([]byte, 32), append([]byte{1}, make([]byte, 31)...)} {
		pub, err := suite.X25519.ParsePublic(u)
		if err != nil {
			t.Fatalf("%x: %v", u, err)
		}
		kem, ok := suite.KEMPublicOf(pub)
		if !ok {
			t.Fatal("X25519 is not a KEM")
		}
		_, _, err = (&Config{}).encapsulate(kem, infoInitiatorEphemeral)
		if !errors.Is(err, ErrHandshake) {
			t.Errorf("%x: %v, want ErrHandshake", u, err)
		}
	}
}
