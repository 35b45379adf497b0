package channel

import (
	"bytes"
	"errors"
	"testing"

	"github.com/keyblob/keyblob"
)

// Fuzz targets for every parser: the handshake messages of both
// profiles (parse, then marshal gives the same bytes), the handshake
// steps that read them, records and frames. Seeds are the stored
// vectors' messages and records.

// addVectorSeeds adds message i (or every record, i < 0) of every stored
// vector of the profile.
func addVectorSeeds(f *testing.F, profile string, i int) {
	for _, v := range loadVectors(f) {
		if v.fields["profile"] != profile {
			continue
		}
		if i >= 0 && i < len(v.log.msgs) {
			f.Add(v.log.msgs[i])
		}
		if i < 0 {
			for _, r := range v.log.records {
				f.Add(r.record)
			}
		}
	}
}

func FuzzPhase1(f *testing.F) {
	addVectorSeeds(f, "v2", 0)
	f.Fuzz(func(t *testing.T, msg []byte) {
		if m, err := parsePhase1(msg); err == nil && !bytes.Equal(m.marshal(), msg) {
			t.Fatalf("phase 1 re-encodes differently")
		} else if err != nil && !errors.Is(err, ErrHandshake) {
			t.Fatalf("error %v is no ErrHandshake", err)
		}
	})
}

func FuzzPhase2(f *testing.F) {
	addVectorSeeds(f, "v2", 1)
	f.Fuzz(func(t *testing.T, msg []byte) {
		if m, err := parsePhase2(msg); err == nil && !bytes.Equal(m.marshal(), msg) {
			t.Fatalf("phase 2 re-encodes differently")
		}
	})
}

func FuzzPhase3(f *testing.F) {
	addVectorSeeds(f, "v2", 2)
	f.Fuzz(func(t *testing.T, msg []byte) {
		if m, err := parsePhase3(msg); err == nil && !bytes.Equal(m.marshal(), msg) {
			t.Fatalf("phase 3 re-encodes differently")
		}
	})
}

func FuzzSeedHello(f *testing.F) {
	addVectorSeeds(f, "seed", 0)
	f.Fuzz(func(t *testing.T, msg []byte) {
		h, err := parseSeedHello(msg)
		if err != nil {
			return
		}
		if !bytes.Equal(h.marshal(), msg) {
			t.Fatalf("hello re-encodes differently")
		}
		if pub, err := parseSeedKey(h.der); err == nil {
			if der, _ := pub.MarshalPKIX(); !bytes.Equal(der, h.der) {
				t.Fatal("accepted a key that is not in canonical DER")
			}
		}
	})
}

// FuzzV2Server feeds phase 1 to a server, then (if it answers) phase 3.
func FuzzV2Server(f *testing.F) {
	addVectorSeeds(f, "v2", 0)
	scfg := &Config{Profile: V2, Identity: testIdentity(f, "bob-x25519")}
	f.Fuzz(func(t *testing.T, msg []byte) {
		s, err := NewServerSession(scfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ReadHandshakeMessage(msg); err != nil {
			return
		}
		if _, err := s.NextHandshakeMessage(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ReadHandshakeMessage(append([]byte{typePhase3}, make([]byte, 32)...)); err != ErrAuth {
			t.Fatalf("a zero confirmation: %v", err)
		}
	})
}

// FuzzV2Client feeds phase 2 to a mutual client.
func FuzzV2Client(f *testing.F) {
	addVectorSeeds(f, "v2", 1)
	ccfg, _ := pair(f, V2, "x25519", true)
	f.Fuzz(func(t *testing.T, msg []byte) {
		c, err := NewClientSession(ccfg)
		if err != nil {
			t.Fatal(err)
		}
		c.NextHandshakeMessage()
		if _, err := c.ReadHandshakeMessage(msg); err == nil {
			t.Fatal("a fuzzed phase 2 authenticated")
		} else if !errors.Is(err, ErrHandshake) && err != ErrAuth {
			t.Fatalf("error %v", err)
		}
	})
}

// FuzzSeedClient feeds a hello to a pinned and an insecure client.
func FuzzSeedClient(f *testing.F) {
	addVectorSeeds(f, "seed", 0)
	pinned, _ := pair(f, Seed, "rsa-2048", false)
	insecure := &Config{Profile: Seed, Insecure: true}
	f.Fuzz(func(t *testing.T, msg []byte) {
		for _, cfg := range []*Config{pinned, insecure} {
			c, err := NewClientSession(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.ReadHandshakeMessage(bytes.Clone(msg)); err != nil &&
				!errors.Is(err, ErrHandshake) && err != ErrAuth && !errors.Is(err, keyblob.ErrNotSigned) {
				t.Fatalf("error %v", err)
			}
		}
	})
}

// FuzzSeedServer feeds an initial message to a server with a fixed key:
// every bad one is ErrAuth.
func FuzzSeedServer(f *testing.F) {
	addVectorSeeds(f, "seed", 1)
	scfg := &Config{Profile: Seed, hooks: &testHooks{seedKey: fixedSeedKey(f)}}
	f.Fuzz(func(t *testing.T, msg []byte) {
		s, err := NewServerSession(scfg)
		if err != nil {
			t.Fatal(err)
		}
		s.NextHandshakeMessage()
		if _, err := s.ReadHandshakeMessage(msg); err != nil && err != ErrAuth {
			t.Fatalf("error %v, want ErrAuth", err)
		}
	})
}

// FuzzRecords opens records with the server sessions of a stored vector
// of each profile: any record is ErrAuth, malformed, or genuine.
func FuzzRecords(f *testing.F) {
	addVectorSeeds(f, "v2", -1)
	addVectorSeeds(f, "seed", -1)
	var servers []*Session
	for _, v := range loadVectors(f) {
		if v.name == "v2-x25519-mutual.txt" || v.name == "seed-fresh-signed.txt" {
			ccfg, scfg := v.configs(f)
			_, s := sessions(f, ccfg, scfg)
			servers = append(servers, s)
		}
	}
	f.Fuzz(func(t *testing.T, rec []byte) {
		for _, s := range servers {
			if _, _, err := s.Open(bytes.Clone(rec)); err != nil && err != ErrAuth && !errors.Is(err, keyblob.ErrMalformed) {
				t.Fatalf("error %v", err)
			}
		}
	})
}

// FuzzFrames reads frames from any stream: each frame read re-encodes to
// the stream's next bytes, and no frame is over the bound.
func FuzzFrames(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 'x', 0, 0, 0, 0})
	f.Add([]byte{0, 0, 3, 0xe8})
	f.Fuzz(func(t *testing.T, stream []byte) {
		fr := newFrameReader(bytes.NewReader(stream))
		var again []byte
		for {
			frame, err := fr.next(1000)
			if err != nil {
				break
			}
			if len(frame) == 0 || len(frame) > 1000 {
				t.Fatalf("a frame of %d bytes", len(frame))
			}
			buf, at := appendFrame(again)
			again = append(buf, frame...)
			finishFrame(again, at)
		}
		if !bytes.HasPrefix(stream, again) {
			t.Fatal("frames differ from the stream")
		}
	})
}

// FuzzCertificateMessage checks the v2 certificate message parser: what
// it accepts re-encodes to the same bytes, and what it refuses is an
// ErrHandshake.
func FuzzCertificateMessage(f *testing.F) {
	f.Add(marshalCertificate(typeServerCertificate, [][]byte{{0x30, 0x00}}))
	f.Add(marshalCertificate(typeClientCertificate, [][]byte{{1}, {2, 3}}))
	f.Add([]byte{typeServerCertificate, 0, 0, 0})
	f.Fuzz(func(t *testing.T, msg []byte) {
		for _, typ := range []uint8{typeServerCertificate, typeClientCertificate} {
			chain, err := parseCertificate(typ, msg)
			if err == nil && !bytes.Equal(marshalCertificate(typ, chain), msg) {
				t.Fatalf("certificate message re-encodes differently")
			} else if err != nil && !errors.Is(err, ErrHandshake) {
				t.Fatalf("error %v is no ErrHandshake", err)
			}
		}
	})
}

// FuzzSeedChain checks the seed hello's chain splitter: an accepted
// chain and the rest re-encode to the same bytes.
func FuzzSeedChain(f *testing.F) {
	f.Add(append(marshalSeedChain([][]byte{{0x30, 0x00}}), 1, 2, 3))
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, rest []byte) {
		chain, sig, err := splitSeedChain(rest)
		if err != nil {
			if !errors.Is(err, ErrHandshake) {
				t.Fatalf("error %v is no ErrHandshake", err)
			}
			return
		}
		if !bytes.Equal(append(marshalSeedChain(chain), sig...), rest) {
			t.Fatalf("seed chain re-encodes differently")
		}
	})
}
