package seal

import (
	"bytes"
	"crypto/rand"
	"path/filepath"
	"testing"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/replay"
	"github.com/keyblob/keyblob/replay/sqlitecache"
)

// newCache opens a replay cache in a new directory, closed with the test.
func newCache(t *testing.T) *sqlitecache.Cache {
	t.Helper()
	c, err := sqlitecache.Open(filepath.Join(t.TempDir(), "replay.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// stripSignature is what a co-recipient who knows the session key can do
// to a signed message: drop the signer from the header, MAC it again, and
// seal the plaintext again under the new header's payload key. The result
// is a valid unsigned message with the same serial and session key.
func stripSignature(t *testing.T, msg []byte, key *keyblob.SessionKey, plain []byte) []byte {
	t.Helper()
	h := editedHeader(t, split(t, msg).h, func(f *headerFields) { f.Signer, f.SigLen = nil, 0 })
	return finishMsg(t, key, h, plain, nil)
}

// TestReplayStripSignature: a co-recipient who strips the sender's
// signature does not get the same message accepted a second time with
// --once, and, with From, cannot use the genuine message up first.
func TestReplayStripSignature(t *testing.T) {
	alice, bob, carol := testIdentity(t, "alice-x25519"), testIdentity(t, "bob-x25519"), testIdentity(t, "carol-hybrid")
	plain := testPlaintext(70000, 11)
	msg := sealMsg(t, plain, &Options{Recipients: recipientsOf(bob, carol), Signer: alice})
	stripped := stripSignature(t, msg, sessionKeyOf(t, msg, carol), plain)
	if split(t, stripped).h.Signed() {
		t.Fatal("the stripped copy is still signed")
	}
	// Without a cache the stripped copy is a valid message: the attack
	// is real.
	got, err := openStream(stripped, &OpenOptions{Identities: []*keyblob.Identity{bob}})
	wantPlain(t, "stripped copy, no cache", got, err, plain)

	bobOnce := func(cache *sqlitecache.Cache, from *keyblob.Recipient) func() *OpenOptions {
		return func() *OpenOptions {
			return &OpenOptions{Identities: []*keyblob.Identity{bob}, Cache: cache, From: from}
		}
	}
	t.Run("genuine first, stripped after", func(t *testing.T) {
		cache := newCache(t)
		got, err := openStream(msg, bobOnce(cache, nil)())
		wantPlain(t, "genuine", got, err, plain)
		for name, open := range map[string]func([]byte, *OpenOptions) ([]byte, error){
			"stream": openStream,
			"file":   func(m []byte, o *OpenOptions) ([]byte, error) { return openFile(t, m, o, true) },
		} {
			_, err := open(stripped, bobOnce(cache, nil)())
			wantClass(t, "stripped copy, "+name, err, "replay")
		}
	})
	t.Run("stripped first, with From", func(t *testing.T) {
		cache := newCache(t)
		_, err := openStream(stripped, bobOnce(cache, alice.Recipient())())
		wantClass(t, "stripped copy, from alice", err, "not signed")
		got, err := openStream(msg, bobOnce(cache, alice.Recipient())())
		wantPlain(t, "genuine after the refused copy", got, err, plain)
		_, err = openStream(msg, bobOnce(cache, alice.Recipient())())
		wantClass(t, "genuine again", err, "replay")
	})
	t.Run("stripped first, without From", func(t *testing.T) {
		// An opener that accepts unsigned messages accepts the stripped
		// copy once, and the genuine signed message is still accepted
		// after it: a stripped copy, which anyone who sees the message
		// can make, does not use up the signed original (issue 21 item
		// 5). Both are then replays.
		cache := newCache(t)
		got, err := openStream(stripped, bobOnce(cache, nil)())
		wantPlain(t, "stripped copy", got, err, plain)
		got, err = openFile(t, msg, bobOnce(cache, nil)(), false)
		wantPlain(t, "genuine after the stripped copy", got, err, plain)
		_, err = openStream(msg, bobOnce(cache, nil)())
		wantClass(t, "genuine again", err, "replay")
		_, err = openStream(stripped, bobOnce(cache, nil)())
		wantClass(t, "stripped copy again", err, "replay")
	})
}

// frontRun is what anyone who sees a message's clear serial can do: seal
// another message to bob under a new session key with that serial.
func frontRun(t *testing.T, victim []byte, bob *keyblob.Identity, signer *keyblob.Identity) []byte {
	t.Helper()
	p := split(t, victim)
	raw := make([]byte, 32)
	rand.Read(raw)
	key, err := keyblob.NewSessionKeyFrom(p.h.Serial(), raw)
	if err != nil {
		t.Fatal(err)
	}
	prefix := prefixOf(t, p.h.Created(), p.h.Expires(), p.h.Serial(), signer)
	stanza := blobStanza(t, key, bob.Recipient(), p.h.Created())
	return assemble(t, key, prefix, []Stanza{stanza}, []byte("mallory was here first"), signer)
}

// TestReplayFrontRun: a message that copies another's serial, sent first,
// does not make the genuine message a "replay".
func TestReplayFrontRun(t *testing.T) {
	alice, bob, mallory := testIdentity(t, "alice-x25519"), testIdentity(t, "bob-x25519"), testIdentity(t, "mallory-x25519")
	plain := testPlaintext(5000, 12)
	tests := []struct {
		name           string
		signer, forger *keyblob.Identity
	}{
		{"unsigned, forged unsigned", nil, nil},
		{"unsigned, forged signed by mallory", nil, mallory},
		{"signed by alice, forged unsigned", alice, nil},
		{"signed by alice, forged signed by mallory", alice, mallory},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := sealMsg(t, plain, &Options{Recipients: recipientsOf(bob), Signer: tt.signer})
			forged := frontRun(t, msg, bob, tt.forger)
			if split(t, forged).h.Serial() != split(t, msg).h.Serial() {
				t.Fatal("the forged message has another serial")
			}
			cache := newCache(t)
			opts := func() *OpenOptions { return &OpenOptions{Identities: []*keyblob.Identity{bob}, Cache: cache} }
			got, err := openStream(forged, opts())
			wantPlain(t, "the forged message", got, err, []byte("mallory was here first"))
			got, err = openFile(t, msg, opts(), true)
			wantPlain(t, "the genuine message after the forged one", got, err, plain)
			_, err = openStream(msg, opts())
			wantClass(t, "the genuine message again", err, "replay")
			_, err = openStream(forged, opts())
			wantClass(t, "the forged message again", err, "replay")
		})
	}
}

// TestReplayID checks the replay identifier against its definition
// (spec/sealed.md, 6): the same for every copy of a message and for an
// opener with the session key, different for another key with the same
// serial, and never the serial or the key in clear.
func TestReplayID(t *testing.T) {
	bob := testIdentity(t, "bob-x25519")
	msg := sealMsg(t, []byte("hello"), &Options{Recipients: recipientsOf(bob)})
	key := sessionKeyOf(t, msg, bob)
	idOf := func(opts *OpenOptions) []byte {
		o, err := Open(bytes.NewReader(msg), opts)
		if err != nil {
			t.Fatal(err)
		}
		return o.replayID
	}
	byIdentity := idOf(&OpenOptions{Identities: []*keyblob.Identity{bob}})
	byKey := idOf(&OpenOptions{SessionKey: key})
	if len(byIdentity) != replay.IDSize || !bytes.Equal(byIdentity, byKey) {
		t.Fatalf("replay ids %x (identity) and %x (session key), want one %d-byte id", byIdentity, byKey, replay.IDSize)
	}
	serial := key.Serial()
	if bytes.Contains(byIdentity, serial[:8]) || bytes.Contains(byIdentity, key.Bytes()[:8]) {
		t.Error("the replay id contains the serial or the session key")
	}
	other, err := keyblob.NewSessionKeyFrom(serial, bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := replayID(other, serial); bytes.Equal(id, byIdentity) {
		t.Error("another session key with the same serial has the same replay id")
	}
}
