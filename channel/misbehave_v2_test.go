package channel

import (
	"bytes"
	"testing"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/suite"
)

// TestMisbehavingV2 runs the misbehaving-peer suite on v2: a hybrid
// server (bob) and a client pinning it, with alice's identity in the
// mutual cases.
func TestMisbehavingV2(t *testing.T) {
	server := func() *Config {
		return &Config{Profile: V2, Identity: testIdentity(t, "bob-hybrid"), Limits: Limits{HandshakeTimeout: 2e9}}
	}
	client := func() *Config {
		return &Config{Profile: V2, Peer: testIdentity(t, "bob-hybrid").Recipient()}
	}
	cases := append(v2ClientMisbehaviours(t), v2ServerMisbehaviours(t)...)
	cases = append(cases, lengthCases(v2MaxHandshake, ErrHandshake, nil)...)
	if len(cases) < 40 {
		t.Fatalf("only %d misbehaviours", len(cases))
	}
	runMisbehaviours(t, cases, client, server)
}

// phase1Of returns the honest phase 1 of p, parsed.
func phase1Of(p *rawPeer) *phase1 {
	m, err := parsePhase1(p.next())
	if err != nil {
		p.t.Fatal(err)
	}
	return m
}

// honestUntilPhase3 runs phases 1 and 2 honestly and returns the honest
// phase 3, unsent.
func honestUntilPhase3(p *rawPeer) []byte {
	p.send(p.next())
	if m2 := p.recv(); m2 != nil {
		p.read(m2)
	}
	return p.next()
}

// authorizedOnly makes the real server accept only alice-x25519, and
// the scripted client alice-hybrid: an unlisted client.
func authorizedOnly(t testing.TB) func(real, peer *Config) {
	return func(real, peer *Config) {
		real.Authorized = AuthorizedKeys(testIdentity(t, "alice-x25519").Recipient())
		peer.Identity = testIdentity(t, "alice-hybrid")
	}
}

// v2ClientMisbehaviours are misbehaving clients against a real server.
func v2ClientMisbehaviours(t testing.TB) []misbehaviour {
	return []misbehaviour{
		{name: "client closes at once", want: ErrHandshake, client: func(p *rawPeer) {}},
		{name: "phase 1 truncated", want: ErrHandshake, client: func(p *rawPeer) {
			m := p.next()
			p.send(m[:len(m)-1])
			p.recv()
		}},
		{name: "phase 1 trailing byte", want: ErrHandshake, client: func(p *rawPeer) {
			p.send(append(p.next(), 0))
			p.recv()
		}},
		{name: "phase 1 duplicated", want: ErrHandshake, client: func(p *rawPeer) {
			m := p.next()
			p.send(m)
			p.send(m)
			p.recv()
			p.recv()
		}},
		{name: "phase 1 skipped (phase 3 first)", want: ErrHandshake, client: func(p *rawPeer) {
			p.send(append([]byte{typePhase3}, make([]byte, 32)...))
			p.recv()
		}},
		{name: "phase 2 sent by the client", want: ErrHandshake, client: func(p *rawPeer) {
			p.send((&phase2{confirm: make([]byte, 32)}).marshal())
			p.recv()
		}},
		{name: "unknown ephemeral algorithm", want: ErrHandshake, client: func(p *rawPeer) {
			m := phase1Of(p)
			m.eAlg = 9
			p.send(m.marshal())
			p.recv()
		}},
		{name: "RSA ephemeral algorithm", want: ErrHandshake, client: func(p *rawPeer) {
			m := phase1Of(p)
			m.eAlg = suite.RSAOAEPID
			p.send(m.marshal())
			p.recv()
		}},
		{name: "X25519 ephemeral to a hybrid server", want: ErrHandshake, client: func(p *rawPeer) {
			m := phase1Of(p)
			m.eAlg, m.ePub = suite.X25519ID, m.ePub[:32]
			p.send(m.marshal())
			p.recv()
		}},
		{name: "ephemeral key truncated", want: ErrHandshake, client: func(p *rawPeer) {
			m := phase1Of(p)
			m.ePub = m.ePub[:len(m.ePub)-1]
			p.send(m.marshal())
			p.recv()
		}},
		{name: "ephemeral key not reduced (ML-KEM)", want: ErrHandshake, client: func(p *rawPeer) {
			m := phase1Of(p)
			m.ePub = bytes.Repeat([]byte{0xff}, len(m.ePub))
			p.send(m.marshal())
			p.recv()
		}},
		{name: "server key of another algorithm", want: ErrHandshake, client: func(p *rawPeer) {
			m := phase1Of(p)
			m.sAlg = suite.X25519ID
			p.send(m.marshal())
			p.recv()
		}},
		{name: "enc_s truncated", want: ErrHandshake, client: func(p *rawPeer) {
			m := phase1Of(p)
			m.encS = m.encS[:len(m.encS)-1]
			p.send(m.marshal())
			p.recv()
		}},
		{name: "enc_s missing with an algorithm", want: ErrHandshake, client: func(p *rawPeer) {
			m := phase1Of(p)
			m.encS = nil
			p.send(m.marshal())
			p.recv()
		}},
		{name: "client algorithm without key", want: ErrHandshake, client: func(p *rawPeer) {
			m := phase1Of(p)
			m.cAlg = suite.HybridID
			p.send(m.marshal())
			p.recv()
		}},
		{name: "client key malformed", want: ErrHandshake, client: func(p *rawPeer) {
			m := phase1Of(p)
			m.cAlg, m.cPub = suite.RSAOAEPID, []byte{0x30, 0x03, 0x02, 0x01, 0x01}
			p.send(m.marshal())
			p.recv()
		}},
		{name: "client key of an unknown algorithm", want: ErrHandshake, client: func(p *rawPeer) {
			m := phase1Of(p)
			m.cAlg, m.cPub = 7, make([]byte, 32)
			p.send(m.marshal())
			p.recv()
		}},
		{name: "frame cut in its header", want: ErrHandshake, client: func(p *rawPeer) {
			p.conn.Write([]byte{0, 0})
		}},
		{name: "frame cut in its body", want: ErrHandshake, client: func(p *rawPeer) {
			p.sendHeader(100, make([]byte, 50))
		}},
		{name: "close after phase 1", want: ErrHandshake, client: func(p *rawPeer) {
			p.send(p.next())
			p.recv()
		}},
		{name: "bad confirmation", want: ErrAuth, client: func(p *rawPeer) {
			p.send(flip(honestUntilPhase3(p), -1))
			p.recv()
		}},
		{name: "phase 3 truncated", want: ErrHandshake, client: func(p *rawPeer) {
			m3 := honestUntilPhase3(p)
			p.send(m3[:len(m3)-1])
			p.recv()
		}},
		{name: "phase 3 trailing byte", want: ErrHandshake, client: func(p *rawPeer) {
			p.send(append(honestUntilPhase3(p), 0))
			p.recv()
		}},
		{name: "phase 3 duplicated", want: ErrAuth, client: func(p *rawPeer) {
			m3 := honestUntilPhase3(p)
			p.send(m3)
			p.send(m3) // read as a record
			p.recv()
		}},
		{name: "phase 3 of another session", want: ErrAuth, client: func(p *rawPeer) {
			other := replayedPhases(p.t, p.cfg)
			honestUntilPhase3(p)
			p.send(other[2])
			p.recv()
		}},
		{name: "replayed phase 1 and phase 3", want: ErrAuth, client: func(p *rawPeer) {
			other := replayedPhases(p.t, p.cfg)
			p.send(other[0])
			p.recv()
			p.send(other[2])
			p.recv()
		}},
		{name: "phase 2 reflected as phase 3", want: ErrHandshake, client: func(p *rawPeer) {
			p.send(p.next())
			p.send(p.recv())
			p.recv()
		}},
		{name: "record before phase 3", want: ErrHandshake, client: func(p *rawPeer) {
			p.send(p.next())
			p.recv()
			p.send(bytes.Repeat([]byte{0x17}, 40))
			p.recv()
		}},
		{name: "garbage record after the handshake", want: ErrAuth, client: func(p *rawPeer) {
			p.relay()
			p.send(bytes.Repeat([]byte{0x17}, 40))
			p.recv()
		}},
		{name: "record replayed", want: ErrAuth, client: func(p *rawPeer) {
			p.relay()
			rec := p.seal("once")
			p.send(rec)
			p.send(rec)
			p.recv()
		}},
		{name: "records reordered", want: ErrAuth, client: func(p *rawPeer) {
			p.relay()
			first, second := p.seal("first"), p.seal("second")
			p.send(second)
			p.send(first)
			p.recv()
		}},
		{name: "record dropped", want: ErrAuth, client: func(p *rawPeer) {
			p.relay()
			p.seal("dropped")
			p.send(p.seal("after"))
			p.recv()
		}},
		{name: "empty data record", want: keyblob.ErrMalformed, client: func(p *rawPeer) {
			p.relay()
			p.send(rawGCMRecord(p, RecordData, nil))
			p.recv()
		}},
		{name: "close record with data", want: keyblob.ErrMalformed, client: func(p *rawPeer) {
			p.relay()
			p.send(rawGCMRecord(p, RecordClose, []byte("xy")))
			p.recv()
		}},
		{name: "close record with reason 0", want: keyblob.ErrMalformed, client: func(p *rawPeer) {
			p.relay()
			p.send(rawGCMRecord(p, RecordClose, []byte{0}))
			p.recv()
		}},
		{name: "unknown record type", want: keyblob.ErrMalformed, client: func(p *rawPeer) {
			p.relay()
			p.send(rawGCMRecord(p, 5, []byte("x")))
			p.recv()
		}},
		{name: "record over the limit", want: ErrTooLarge, client: func(p *rawPeer) {
			p.relay()
			p.sendHeader(DefaultMaxMessage+gcmOverhead+1, nil)
			p.recv()
		}},
		{name: "empty frame after the handshake", want: ErrAuth, client: func(p *rawPeer) {
			p.relay()
			p.sendHeader(0, nil)
			p.recv()
		}},
		{name: "stream cut after the handshake", want: ErrTruncated, client: func(p *rawPeer) {
			p.relay()
			p.send(p.seal("then nothing"))
		}},
		{name: "unlisted client", want: ErrUnauthorized, tweak: authorizedOnly(t), client: func(p *rawPeer) {
			p.send(p.next())
			p.recv()
		}},
		{name: "no client identity for an authorized set", want: ErrUnauthorized, client: func(p *rawPeer) {
			p.send(p.next())
			p.recv()
		}, tweak: func(real, _ *Config) { real.Authorized = AuthorizedKeys() }},
		{name: "client key it does not hold", want: ErrAuth, client: func(p *rawPeer) {
			// An impostor names alice's key but cannot decapsulate enc_c,
			// so it has no valid phase 3.
			m := phase1Of(p)
			m.cAlg, m.cPub = suite.HybridID, testIdentity(p.t, "alice-hybrid").Recipient().ExchangeKeyBytes()
			p.send(m.marshal())
			p.recv()
			p.send(append([]byte{typePhase3}, make([]byte, 32)...))
			p.recv()
		}},
		{name: "stalled handshake", want: ErrHandshake, client: func(p *rawPeer) {
			p.sendHeader(1000, make([]byte, 10))
			p.recv() // the server's handshake timeout closes the connection
		}, tweak: func(real, _ *Config) { real.Limits.HandshakeTimeout = 200e6 }},
	}
}

// v2ServerMisbehaviours are misbehaving servers against a real client.
func v2ServerMisbehaviours(t testing.TB) []misbehaviour {
	phase2Of := func(p *rawPeer) *phase2 {
		p.read(p.recv())
		m, err := parsePhase2(p.next())
		if err != nil {
			p.t.Fatal(err)
		}
		return m
	}
	return []misbehaviour{
		{name: "server closes at once", want: ErrHandshake, server: func(p *rawPeer) {}},
		{name: "server closes after phase 1", want: ErrHandshake, server: func(p *rawPeer) { p.recv() }},
		{name: "phase 2 garbage", want: ErrHandshake, server: func(p *rawPeer) {
			p.recv()
			p.send([]byte{typePhase2, 1, 2, 3})
			p.recv()
		}},
		{name: "phase 2 truncated", want: ErrHandshake, server: func(p *rawPeer) {
			p.read(p.recv())
			m := p.next()
			p.send(m[:len(m)-1])
			p.recv()
		}},
		{name: "phase 2 trailing byte", want: ErrHandshake, server: func(p *rawPeer) {
			p.read(p.recv())
			p.send(append(p.next(), 0))
			p.recv()
		}},
		{name: "phase 2 bad confirmation", want: ErrAuth, server: func(p *rawPeer) {
			p.read(p.recv())
			p.send(flip(p.next(), -1))
			p.recv()
		}},
		{name: "phase 2 enc_e flipped", want: ErrAuth, server: func(p *rawPeer) {
			m := phase2Of(p)
			m.encE = flip(m.encE, 10)
			p.send(m.marshal())
			p.recv()
		}},
		{name: "phase 2 enc_e of the wrong size", want: ErrHandshake, server: func(p *rawPeer) {
			m := phase2Of(p)
			m.encE = m.encE[:32]
			p.send(m.marshal())
			p.recv()
		}},
		{name: "phase 2 enc_c to a client without identity", want: ErrHandshake, server: func(p *rawPeer) {
			m := phase2Of(p)
			m.encC = make([]byte, 1120)
			p.send(m.marshal())
			p.recv()
		}},
		{name: "phase 2 without enc_c in mutual mode", want: ErrHandshake, tweak: func(real, _ *Config) {
			real.Identity = testIdentity(t, "alice-hybrid")
		}, server: func(p *rawPeer) {
			m := phase2Of(p)
			m.encC = nil
			p.send(m.marshal())
			p.recv()
		}},
		{name: "phase 1 reflected as phase 2", want: ErrHandshake, server: func(p *rawPeer) {
			p.send(p.recv())
			p.recv()
		}},
		{name: "phase 2 of another session", want: ErrAuth, server: func(p *rawPeer) {
			other := replayedPhases(p.t, &Config{Profile: V2, Peer: testIdentity(p.t, "bob-hybrid").Recipient()})
			p.recv()
			p.send(other[1])
			p.recv()
		}},
		{name: "wrong server key", want: ErrAuth, server: func(p *rawPeer) {
			p.read(p.recv())
			p.send(p.next())
			p.recv()
		}, tweak: func(_, peer *Config) { peer.Identity = testIdentity(t, "mallory-hybrid") }},
		{name: "phase 2 duplicated", want: ErrAuth, server: func(p *rawPeer) {
			p.read(p.recv())
			m2 := p.next()
			p.send(m2)
			p.send(m2) // read by the client as a record
			p.recv()
		}},
		{name: "seed hello to a v2 client", want: ErrHandshake, server: func(p *rawPeer) {
			p.recv()
			der, _ := suite.RSAOAEP.ParsePublic(testIdentity(p.t, "bob-rsa-2048").Recipient().ExchangeKeyBytes())
			spki, _ := der.MarshalPKIX()
			p.send(spki)
			p.recv()
		}},
		{name: "server frame over the limit", want: ErrTooLarge, server: func(p *rawPeer) {
			p.recv()
			p.sendHeader(v2MaxHandshake+1, nil)
			p.recv()
		}},
		{name: "server empty frame", want: ErrHandshake, server: func(p *rawPeer) {
			p.recv()
			p.sendHeader(0, nil)
			p.recv()
		}},
		{name: "client record reflected", want: ErrAuth, server: func(p *rawPeer) {
			p.relay()
			p.send(reflectedRecord(p, "the client's own record 0"))
			p.recv()
		}},
		{name: "server stream cut after the handshake", want: ErrTruncated, server: func(p *rawPeer) {
			p.relay()
		}},
	}
}

// replayedPhases runs an honest v2 session with cfg against bob and
// returns its three handshake messages, for replay into another.
func replayedPhases(tb testing.TB, cfg *Config) [][]byte {
	c, err := NewClientSession(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := NewServerSession(&Config{Profile: V2, Identity: testIdentity(tb, "bob-hybrid")})
	if err != nil {
		tb.Fatal(err)
	}
	var msgs [][]byte
	for _, ends := range [][2]*Session{{c, s}, {s, c}, {c, s}} {
		msg, err := ends[0].NextHandshakeMessage()
		if err != nil {
			tb.Fatal(err)
		}
		msgs = append(msgs, bytes.Clone(msg))
		if _, err := ends[1].ReadHandshakeMessage(msg); err != nil {
			tb.Fatal(err)
		}
	}
	return msgs
}

// rawGCMRecord seals a record the honest sealer refuses to make, with
// the peer session's own keys and sequence number.
func rawGCMRecord(p *rawPeer, typ RecordType, data []byte) []byte {
	h := p.sess.res.send.(*gcmHalf)
	rec := h.aead.Seal(nil, h.nonce(), append([]byte{byte(typ)}, data...), nil)
	h.seq++
	return rec
}

// reflectedRecord seals data as the real end itself would have, with the
// keys the peer session receives with (sequence number 0): a record of
// the real end's own direction.
func reflectedRecord(p *rawPeer, data string) []byte {
	switch h := p.sess.res.recv.(type) {
	case *gcmHalf:
		var n [12]byte
		copy(n[:], h.iv[:])
		return h.aead.Seal(nil, n[:], append([]byte{byte(RecordData)}, data...), nil)
	case *seedHalf:
		mirror := *h
		mirror.seq = 0
		rec, err := mirror.sealPayload(nil, []byte(data))
		if err != nil {
			p.t.Fatal(err)
		}
		return rec
	}
	panic("unknown record layer")
}
