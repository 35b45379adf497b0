package channel

import (
	"bytes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"testing"

	"github.com/keyblob/keyblob/internal/suite"
)

// TestMisbehavingSeed runs the misbehaving-peer suite on seed: an
// identity-mode server of bob's RSA identity (one epoch key for all the
// cases, so that none waits on key generation), and a client pinning it.
// The initial message is bounded by its payload bound, not the record
// bound.
func TestMisbehavingSeed(t *testing.T) {
	server := func() *Config {
		return &Config{Profile: Seed, Identity: testIdentity(t, "bob-rsa-2048"), SeedKey: SeedKeyIdentity, Limits: Limits{HandshakeTimeout: 2e9}}
	}
	client := func() *Config {
		return &Config{Profile: Seed, Peer: testIdentity(t, "bob-rsa-2048").Recipient()}
	}
	readHello := func(p *rawPeer) { p.read(p.recv()) }
	cases := append(seedClientMisbehaviours(t), seedServerMisbehaviours(t)...)
	cases = append(cases, lengthCases(256+seedRecordSize(seedMaxInitialPayload), ErrAuth, readHello)...)
	if len(cases) < 40 {
		t.Fatalf("only %d misbehaviours", len(cases))
	}
	runMisbehaviours(t, cases, client, server)
}

// seedInitial returns the honest initial message of a scripted client,
// after reading the hello.
func seedInitial(p *rawPeer) []byte {
	p.read(p.recv())
	return p.next()
}

// seedForge builds a seed record with the keys of h but any direction,
// sequence number and plaintext blocks (no padding added): a valid MAC
// over whatever the caller wants.
func seedForge(h *seedHalf, dir byte, seq uint64, blocks []byte) []byte {
	forged := *h
	forged.dir, forged.seq = dir, seq
	iv := make([]byte, seedBlock)
	rec := append(append(bytes.Clone(iv), make([]byte, seedMACSize)...), blocks...)
	ct := rec[seedOverhead:]
	cipherCBC(h, iv, ct)
	copy(rec[seedBlock:], forged.tag(iv, ct))
	return rec
}

// seedModulus is the size of the server's RSA-2048 modulus: the wrapped
// keys are the first seedModulus bytes of an initial message.
const seedModulus = 256

// seedClientMisbehaviours are misbehaving clients against a real seed
// server.
func seedClientMisbehaviours(t testing.TB) []misbehaviour {
	send := func(p *rawPeer, msg []byte) {
		p.send(msg)
		p.recv()
	}
	return []misbehaviour{
		{name: "client closes at once", want: ErrHandshake, client: func(p *rawPeer) {}},
		{name: "client closes after the hello", want: ErrHandshake, client: func(p *rawPeer) { p.recv() }},
		{name: "initial message too short", want: ErrAuth, client: func(p *rawPeer) {
			send(p, seedInitial(p)[:seedModulus+47])
		}},
		{name: "initial message of the wrapped keys only", want: ErrAuth, client: func(p *rawPeer) {
			send(p, seedInitial(p)[:seedModulus])
		}},
		{name: "initial message not a block multiple", want: ErrAuth, client: func(p *rawPeer) {
			send(p, append(seedInitial(p), 0))
		}},
		{name: "wrapped keys flipped", want: ErrAuth, client: func(p *rawPeer) { send(p, flip(seedInitial(p), 10)) }},
		{name: "initial IV flipped", want: ErrAuth, client: func(p *rawPeer) { send(p, flip(seedInitial(p), seedModulus)) }},
		{name: "initial MAC flipped", want: ErrAuth, client: func(p *rawPeer) {
			send(p, flip(seedInitial(p), seedModulus+seedBlock))
		}},
		{name: "initial ciphertext flipped", want: ErrAuth, client: func(p *rawPeer) { send(p, flip(seedInitial(p), -1)) }},
		{name: "initial valid MAC, bad padding", want: ErrAuth, client: func(p *rawPeer) {
			m := seedInitial(p)
			h := p.sess.res.send.(*seedHalf)
			send(p, append(m[:seedModulus], seedForge(h, dirClient, 0, bytes.Repeat([]byte{0x11}, 16))...))
		}},
		{name: "initial MAC with the server's direction", want: ErrAuth, client: func(p *rawPeer) {
			m := seedInitial(p)
			send(p, append(m[:seedModulus], seedForge(p.sess.res.send.(*seedHalf), dirServer, 0, pad16(nil))...))
		}},
		{name: "initial MAC with sequence number 1", want: ErrAuth, client: func(p *rawPeer) {
			m := seedInitial(p)
			send(p, append(m[:seedModulus], seedForge(p.sess.res.send.(*seedHalf), dirClient, 1, pad16(nil))...))
		}},
		{name: "keys wrapped to another key", want: ErrAuth, client: func(p *rawPeer) {
			m := seedInitial(p)
			other, _ := suite.KEMPublicOf(mustPub(p.t, "alice-rsa-2048"))
			enc, _, _ := other.Encapsulate(nil)
			send(p, append(enc, m[seedModulus:]...))
		}},
		{name: "wrapped keys of 31 bytes", want: ErrAuth, client: func(p *rawPeer) {
			m := seedInitial(p)
			send(p, append(oaepTo(p.t, "bob-rsa-2048", make([]byte, 31), nil), m[seedModulus:]...))
		}},
		{name: "wrapped keys with an OAEP label", want: ErrAuth, client: func(p *rawPeer) {
			m := seedInitial(p)
			send(p, append(oaepTo(p.t, "bob-rsa-2048", make([]byte, 32), []byte("label")), m[seedModulus:]...))
		}},
		{name: "initial message of another session", want: ErrAuth, tweak: func(real, _ *Config) {
			// Fresh keys: each session has its own key (identity mode
			// does not stop this replay: spec/channel.md 3.7).
			real.SeedKey, real.Identity = SeedKeyFresh, nil
		}, client: func(p *rawPeer) {
			other := otherSeedInitial(p.t)
			p.recv()
			send(p, other)
		}},
		{name: "two initial messages", want: ErrAuth, client: func(p *rawPeer) {
			m := seedInitial(p)
			p.send(m)
			send(p, m)
		}},
		{name: "frame cut in its body", want: ErrHandshake, client: func(p *rawPeer) {
			p.recv()
			p.sendHeader(1000, make([]byte, 10))
		}},
		{name: "stalled handshake", want: ErrHandshake, tweak: func(real, _ *Config) {
			real.Limits.HandshakeTimeout = 200e6
		}, client: func(p *rawPeer) {
			p.recv()
			p.sendHeader(1000, make([]byte, 10))
			p.recv()
		}},
		{name: "record MAC flipped", want: ErrAuth, client: func(p *rawPeer) {
			p.relay()
			send(p, flip(p.seal("x"), seedBlock))
		}},
		{name: "record ciphertext flipped", want: ErrAuth, client: func(p *rawPeer) {
			p.relay()
			send(p, flip(p.seal("x"), -1))
		}},
		{name: "record IV flipped", want: ErrAuth, client: func(p *rawPeer) {
			p.relay()
			send(p, flip(p.seal("x"), 0))
		}},
		{name: "record replayed", want: ErrAuth, client: func(p *rawPeer) {
			p.relay()
			rec := p.seal("once")
			p.send(rec)
			send(p, rec)
		}},
		{name: "records reordered", want: ErrAuth, client: func(p *rawPeer) {
			p.relay()
			first, second := p.seal("first"), p.seal("second")
			p.send(second)
			send(p, first)
		}},
		{name: "record dropped", want: ErrAuth, client: func(p *rawPeer) {
			p.relay()
			p.seal("dropped")
			send(p, p.seal("after"))
		}},
		{name: "server record reflected", want: ErrAuth, client: func(p *rawPeer) {
			p.relay()
			send(p, reflectedRecord(p, "the server's own record 0"))
		}},
		{name: "record valid MAC, bad padding", want: ErrAuth, client: func(p *rawPeer) {
			p.relay()
			send(p, seedForge(p.sess.res.send.(*seedHalf), dirClient, 1, bytes.Repeat([]byte{0}, 32)))
		}},
		{name: "record of 32 bytes", want: ErrAuth, client: func(p *rawPeer) {
			p.relay()
			send(p, p.seal("x")[:32])
		}},
		{name: "record not a block multiple", want: ErrAuth, client: func(p *rawPeer) {
			p.relay()
			send(p, append(p.seal("x"), 0))
		}},
		{name: "empty frame after the handshake", want: ErrAuth, client: func(p *rawPeer) {
			p.relay()
			p.sendHeader(0, nil)
			p.recv()
		}},
		{name: "record over the limit", want: ErrTooLarge, client: func(p *rawPeer) {
			p.relay()
			p.sendHeader(uint32(seedRecordSize(DefaultMaxMessage))+1, nil)
			p.recv()
		}},
		{name: "stream cut after the handshake", want: ErrTruncated, client: func(p *rawPeer) {
			p.relay()
			p.send(p.seal("then nothing"))
		}},
	}
}

// seedServerMisbehaviours are misbehaving servers against a real seed
// client.
func seedServerMisbehaviours(t testing.TB) []misbehaviour {
	send := func(p *rawPeer, msg []byte) {
		p.send(msg)
		p.recv()
	}
	bobDER := func(p *rawPeer) []byte {
		h, err := parseSeedHello(p.next())
		if err != nil {
			p.t.Fatal(err)
		}
		return h.der
	}
	signed := func(p *rawPeer, signer, context string, der []byte) []byte {
		sig, err := testIdentity(p.t, signer).Sign(context, der)
		if err != nil {
			p.t.Fatal(err)
		}
		return append(bytes.Clone(der), sig...)
	}
	return []misbehaviour{
		{name: "server closes at once", want: ErrHandshake, server: func(p *rawPeer) {}},
		{name: "hello not DER", want: ErrHandshake, server: func(p *rawPeer) { send(p, []byte("hello")) }},
		{name: "hello of an Ed25519 key", want: ErrHandshake, server: func(p *rawPeer) {
			pub, _, _ := ed25519.GenerateKey(rand.Reader)
			der, _ := x509.MarshalPKIXPublicKey(pub)
			send(p, signed(p, "bob-rsa-2048", seedSignatureContext, der))
		}},
		{name: "hello of an X25519 key", want: ErrHandshake, server: func(p *rawPeer) {
			der, _ := mustExchangePub(p.t, "bob-x25519").MarshalPKIX()
			send(p, signed(p, "bob-rsa-2048", seedSignatureContext, der))
		}},
		{name: "hello of an RSA-1024 key", want: ErrHandshake, server: func(p *rawPeer) {
			k, err := rsa.GenerateKey(rand.Reader, 1024)
			if err != nil {
				p.t.Fatal(err)
			}
			der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
			send(p, signed(p, "bob-rsa-2048", seedSignatureContext, der))
		}},
		{name: "hello of non-minimal DER", want: ErrHandshake, server: func(p *rawPeer) {
			der := bobDER(p)
			// 30 82 LL LL -> 30 83 00 LL LL
			bad := append([]byte{0x30, 0x83, 0x00}, der[2:]...)
			send(p, signed(p, "bob-rsa-2048", seedSignatureContext, bad))
		}},
		{name: "hello unsigned", want: ErrNotSigned, server: func(p *rawPeer) { send(p, bobDER(p)) }},
		{name: "hello signed by another key", want: ErrAuth, server: func(p *rawPeer) {
			send(p, signed(p, "mallory-rsa-2048", seedSignatureContext, bobDER(p)))
		}},
		{name: "hello signed in another context", want: ErrAuth, server: func(p *rawPeer) {
			send(p, signed(p, "bob-rsa-2048", "key blob", bobDER(p)))
		}},
		{name: "hello signature truncated", want: ErrHandshake, server: func(p *rawPeer) {
			m := p.next()
			send(p, m[:len(m)-1])
		}},
		{name: "hello trailing byte", want: ErrHandshake, server: func(p *rawPeer) { send(p, append(p.next(), 0)) }},
		{name: "hello key flipped", want: ErrAuth, server: func(p *rawPeer) { send(p, flip(p.next(), 40)) }},
		{name: "hello over the limit", want: ErrTooLarge, server: func(p *rawPeer) {
			p.sendHeader(seedMaxHello+1, nil)
			p.recv()
		}},
		{name: "hello of 2^32-1 bytes", want: ErrTooLarge, server: func(p *rawPeer) {
			p.sendHeader(1<<32-1, nil)
			p.recv()
		}},
		{name: "hello empty frame", want: ErrHandshake, server: func(p *rawPeer) {
			p.sendHeader(0, nil)
			p.recv()
		}},
		{name: "a record instead of the hello", want: ErrHandshake, server: func(p *rawPeer) {
			send(p, bytes.Repeat([]byte{0x17}, 48))
		}},
		{name: "another server's identity", want: ErrAuth, tweak: func(_, peer *Config) {
			peer.Identity = testIdentity(t, "mallory-rsa-2048")
		}, server: func(p *rawPeer) { send(p, p.next()) }},
		{name: "insecure client, too much after the key", want: ErrHandshake, tweak: func(real, _ *Config) {
			real.Peer, real.Insecure = nil, true
		}, server: func(p *rawPeer) { send(p, append(bobDER(p), make([]byte, seedMaxIgnoredSig+1)...)) }},
		{name: "server record MAC flipped", want: ErrAuth, server: func(p *rawPeer) {
			p.relay()
			send(p, flip(p.seal("x"), seedBlock))
		}},
		{name: "client record reflected", want: ErrAuth, server: func(p *rawPeer) {
			p.relay()
			send(p, reflectedRecord(p, "the client's own record 0"))
		}},
		{name: "server records reordered", want: ErrAuth, server: func(p *rawPeer) {
			p.relay()
			first, second := p.seal("first"), p.seal("second")
			p.send(second)
			send(p, first)
		}},
		{name: "server record replayed", want: ErrAuth, server: func(p *rawPeer) {
			p.relay()
			rec := p.seal("once")
			p.send(rec)
			send(p, rec)
		}},
		{name: "second hello after the handshake", want: ErrAuth, server: func(p *rawPeer) {
			hello := p.next()
			p.send(hello)
			p.read(p.recv())
			send(p, hello)
		}},
		{name: "server stream cut", want: ErrTruncated, server: func(p *rawPeer) {
			p.relay()
			p.send(p.seal("then nothing"))
		}},
	}
}

// pad16 pads b as PKCS #7 does.
func pad16(b []byte) []byte {
	n := 16 - len(b)%16
	return append(bytes.Clone(b), bytes.Repeat([]byte{byte(n)}, n)...)
}

func cipherCBC(h *seedHalf, iv, blocks []byte) {
	cipher.NewCBCEncrypter(h.block, iv).CryptBlocks(blocks, blocks)
}

func mustExchangePub(tb testing.TB, name string) suite.ExchangePublic {
	r := testIdentity(tb, name).Recipient()
	pub, err := suite.ExchangeByID(uint8(r.ExchangeAlg())).ParsePublic(r.ExchangeKeyBytes())
	if err != nil {
		tb.Fatal(err)
	}
	return pub
}

func mustPub(tb testing.TB, name string) suite.ExchangePublic { return mustExchangePub(tb, name) }

// oaepTo encrypts plaintext to the RSA key of identity name with an OAEP
// label.
func oaepTo(tb testing.TB, name string, plaintext, label []byte) []byte {
	k, err := x509.ParsePKCS1PublicKey(testIdentity(tb, name).Recipient().ExchangeKeyBytes())
	if err != nil {
		tb.Fatal(err)
	}
	enc, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, k, plaintext, label)
	if err != nil {
		tb.Fatal(err)
	}
	return enc
}

// otherSeedInitial returns the initial message of an honest seed session
// with a server of its own fresh key.
func otherSeedInitial(tb testing.TB) []byte {
	c, err := NewClientSession(&Config{Profile: Seed, Insecure: true})
	if err != nil {
		tb.Fatal(err)
	}
	s, err := NewServerSession(&Config{Profile: Seed})
	if err != nil {
		tb.Fatal(err)
	}
	hello, _ := s.NextHandshakeMessage()
	if _, err := c.ReadHandshakeMessage(hello); err != nil {
		tb.Fatal(err)
	}
	initial, err := c.NextHandshakeMessage()
	if err != nil {
		tb.Fatal(err)
	}
	return initial
}
