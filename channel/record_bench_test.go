package channel

import (
	"testing"

	"github.com/keyblob/keyblob"
)

// benchSessions returns a client and a server session of profile p whose
// handshake is done, with no transport between them.
func benchSessions(b *testing.B, p Profile) (*Session, *Session) {
	srvID, _ := keyblob.GenerateIdentity("rsa-2048")
	if p == V2 {
		srvID, _ = keyblob.GenerateIdentity("x25519")
	}
	sc := &Config{Profile: p, Identity: srvID}
	if p == Seed {
		sc.SeedKey = SeedKeyIdentity
	}
	c, err := NewClientSession(&Config{Profile: p, Peer: srvID.Recipient()})
	if err != nil {
		b.Fatal(err)
	}
	s, err := NewServerSession(sc)
	if err != nil {
		b.Fatal(err)
	}
	a, z := c, s
	for !c.HandshakeComplete() || !s.HandshakeComplete() {
		m, err := a.NextHandshakeMessage()
		if err != nil {
			b.Fatal(err)
		}
		if m != nil {
			if _, err := z.ReadHandshakeMessage(m); err != nil {
				b.Fatal(err)
			}
		}
		a, z = z, a
	}
	return c, s
}

// BenchmarkRecord seals a 1 KiB record at the client and opens it at the
// server: the per-record cost of each profile, allocations included.
func BenchmarkRecord(b *testing.B) {
	for _, p := range []Profile{V2, Seed} {
		b.Run(p.String(), func(b *testing.B) {
			c, s := benchSessions(b, p)
			data := make([]byte, 1024)
			var buf []byte
			b.SetBytes(1024)
			b.ReportAllocs()
			for b.Loop() {
				rec, err := c.Seal(buf[:0], data)
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := s.Open(rec); err != nil {
					b.Fatal(err)
				}
				buf = rec
			}
		})
	}
}
