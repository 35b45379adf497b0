package seal

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/keyblob/keyblob"
)

// TestFilePathsAppend seals from a file at offsets into a file opened
// with O_APPEND, and opens it at offsets into another: such files take
// writes in order only (a Sink's W), and the result must still open to the
// same plaintext.
func TestFilePathsAppend(t *testing.T) {
	bob := testIdentity(t, "bob-x25519")
	dir := t.TempDir()
	pt := bytes.Repeat([]byte("0123456789abcdef"), (3<<20)/16+5)
	in := filepath.Join(dir, "in")
	if err := os.WriteFile(in, pt, 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	sealedPath := filepath.Join(dir, "sealed")
	if err := os.WriteFile(sealedPath, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := os.OpenFile(sealedPath, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	opts := &Options{Recipients: []*keyblob.Recipient{bob.Recipient()}, Signer: bob}
	if _, err := Seal(Sink{W: out}, Source{At: src, Size: int64(len(pt))}, opts); err != nil {
		t.Fatalf("sealing to an O_APPEND file: %v", err)
	}
	out.Close()
	sealed, err := os.Open(sealedPath)
	if err != nil {
		t.Fatal(err)
	}
	defer sealed.Close()
	st, err := sealed.Stat()
	if err != nil {
		t.Fatal(err)
	}
	msg := io.NewSectionReader(sealed, 1, st.Size()-1) // past the "x"
	o, err := OpenAt(msg, msg.Size(), &OpenOptions{Identities: []*keyblob.Identity{bob}, From: bob.Recipient()})
	if err != nil {
		t.Fatal(err)
	}
	plainPath := filepath.Join(dir, "plain")
	plain, err := os.OpenFile(plainPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.WriteTo(plain); err != nil {
		t.Fatalf("opening into an O_APPEND file: %v", err)
	}
	plain.Close()
	got, err := os.ReadFile(plainPath)
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("plaintext differs (%v)", err)
	}
}

// TestFromAlso accepts a message signed by an older key of the sender only
// when that key is given in FromAlso.
func TestFromAlso(t *testing.T) {
	bob := testIdentity(t, "bob-x25519")
	old, cur := testIdentity(t, "aliceold-x25519"), testIdentity(t, "alicenew-x25519")
	var buf bytes.Buffer
	w, err := NewWriter(&buf, &Options{Recipients: []*keyblob.Recipient{bob.Recipient()}, Signer: old})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("hi"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ids := []*keyblob.Identity{bob}
	if _, err := Open(bytes.NewReader(buf.Bytes()), &OpenOptions{Identities: ids, From: cur.Recipient()}); !errors.Is(err, ErrWrongSender) {
		t.Fatalf("signed by an older key, From the current one: %v, want ErrWrongSender", err)
	}
	o, err := Open(bytes.NewReader(buf.Bytes()), &OpenOptions{Identities: ids, From: cur.Recipient(),
		FromAlso: []*keyblob.Recipient{old.Recipient()}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(o.Reader()); err != nil || string(got) != "hi" {
		t.Fatalf("got %q, %v", got, err)
	}
}
