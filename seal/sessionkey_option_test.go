package seal

import (
	"bytes"
	"testing"

	"github.com/keyblob/keyblob"
)

// TestSealWithGivenSessionKey checks Options.SessionKey: the message is
// sealed with that key (its serial is the key's, and the key opens it,
// as the recipient's identity does), and without it every message gets a
// key of its own.
func TestSealWithGivenSessionKey(t *testing.T) {
	bob, err := keyblob.GenerateIdentity(keyblob.KindX25519)
	if err != nil {
		t.Fatal(err)
	}
	key := keyblob.NewSessionKey()
	plain := bytes.Repeat([]byte("escrowed "), 10000)
	var msg bytes.Buffer
	h, err := Seal(Sink{W: &msg}, Source{R: bytes.NewReader(plain)}, &Options{Recipients: []*keyblob.Recipient{bob.Recipient()}, SessionKey: key})
	if err != nil {
		t.Fatal(err)
	}
	if h.Serial() != key.Serial() {
		t.Fatalf("message serial %s, key serial %s", h.Serial(), key.Serial())
	}
	for name, opts := range map[string]*OpenOptions{
		"session key": {SessionKey: key},
		"identity":    {Identities: []*keyblob.Identity{bob}},
	} {
		o, err := Open(bytes.NewReader(msg.Bytes()), opts)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var out bytes.Buffer
		if _, err := o.WriteTo(&out); err != nil || !bytes.Equal(out.Bytes(), plain) {
			t.Fatalf("%s: opened %d bytes, %v", name, out.Len(), err)
		}
	}
	var other bytes.Buffer
	h2, err := Seal(Sink{W: &other}, Source{R: bytes.NewReader(plain)}, &Options{Recipients: []*keyblob.Recipient{bob.Recipient()}})
	if err != nil {
		t.Fatal(err)
	}
	if h2.Serial() == key.Serial() {
		t.Error("a message sealed without SessionKey has the given key's serial")
	}
}
