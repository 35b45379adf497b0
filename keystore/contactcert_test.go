package keystore

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/cert"
)

// certNow is the time the contact certificates are issued at.
var certNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// certifiedContact returns a contact certified by a new built-in CA: its
// chain is the leaf (for alice@example.com, valid an hour) and the CA.
func certifiedContact(t testing.TB, name string) *Contact {
	t.Helper()
	caID := contactIdentity(t)
	caDER, err := cert.NewCA(caID, "Test CA", 24*time.Hour, certNow)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	id := contactIdentity(t)
	csr, err := cert.Request(id, cert.Names{Email: []string{"alice@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	req, err := cert.ParseRequest(csr)
	if err != nil {
		t.Fatal(err)
	}
	der, err := cert.Issue(ca, caID, req, time.Hour, certNow)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &Contact{Name: name, Recipient: id.Recipient(), Chain: []*x509.Certificate{leaf, ca}, CA: "corp"}
}

func contactIdentity(t testing.TB) *keyblob.Identity {
	t.Helper()
	id, err := keyblob.GenerateIdentity(keyblob.KindX25519)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestCertifiedContactRoundTrip stores a certified contact and reads it
// back: the same recipient, chain, CA name and NotAfter; a contact without
// a chain stays a plain recipient line.
func TestCertifiedContactRoundTrip(t *testing.T) {
	s := newStore(t)
	want := certifiedContact(t, "alice")
	if err := s.SaveContact(want, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.Contact("alice")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Recipient.Equal(want.Recipient) || got.CA != "corp" || len(got.Chain) != 2 || !got.Certified() {
		t.Fatalf("read back %+v, want %+v", got, want)
	}
	for i := range want.Chain {
		if !bytes.Equal(got.Chain[i].Raw, want.Chain[i].Raw) {
			t.Errorf("certificate %d differs", i)
		}
	}
	if !got.NotAfter().Equal(want.Chain[0].NotAfter) {
		t.Errorf("NotAfter %v, want the leaf's %v", got.NotAfter(), want.Chain[0].NotAfter)
	}
	if err := s.AddContact("bob", want.Recipient, nil); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(s.Dir(), contactsDir, "bob"+contactExt))
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != want.Recipient.String()+"\n" {
		t.Errorf("plain contact file %q, want the recipient line alone", data)
	}
	if plain, err := s.Contact("bob"); err != nil || plain.Certified() || !plain.NotAfter().IsZero() {
		t.Errorf("plain contact: %+v, %v", plain, err)
	}
}

// TestSaveContactRefuses refuses chains that cannot be a contact's, and
// writes nothing.
func TestSaveContactRefuses(t *testing.T) {
	good := certifiedContact(t, "alice")
	other := certifiedContact(t, "other")
	tests := []struct {
		name   string
		change func(c *Contact)
	}{
		{"CA name without chain", func(c *Contact) { c.Chain = nil }},
		{"leaf alone", func(c *Contact) { c.Chain = c.Chain[:1] }},
		{"too long", func(c *Contact) {
			for len(c.Chain) <= cert.MaxChainLength {
				c.Chain = append(c.Chain, c.Chain[1])
			}
		}},
		{"last not a CA", func(c *Contact) { c.Chain = []*x509.Certificate{c.Chain[0], c.Chain[0]} }},
		{"another recipient", func(c *Contact) { c.Recipient = other.Recipient }},
		{"bad CA name", func(c *Contact) { c.CA = "../x" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			c := *good
			c.Chain = append([]*x509.Certificate(nil), good.Chain...)
			tt.change(&c)
			if err := s.SaveContact(&c, nil); !errors.Is(err, ErrNotCertified) {
				t.Fatalf("SaveContact: %v, want ErrNotCertified", err)
			}
			if _, err := s.Contact("alice"); !errors.Is(err, ErrNotFound) {
				t.Errorf("after a refused save: %v, want ErrNotFound", err)
			}
		})
	}
}

// TestCertifiedContactStrict refuses contact files that are not exactly
// what SaveContact writes.
func TestCertifiedContactStrict(t *testing.T) {
	c := certifiedContact(t, "alice")
	good := string(encodeContact(c))
	line := c.Recipient.String() + "\n"
	leaf := certPrefix + base64.StdEncoding.EncodeToString(c.Chain[0].Raw) + "\n"
	root := certPrefix + base64.StdEncoding.EncodeToString(c.Chain[1].Raw) + "\n"
	unpadded := certPrefix + base64.RawStdEncoding.EncodeToString(c.Chain[1].Raw) + "\n"
	tests := map[string]string{
		"no final line feed":   strings.TrimSuffix(good, "\n"),
		"carriage return":      strings.Replace(good, "\nca ", "\r\nca ", 1),
		"ca line first":        line + "ca corp\n" + leaf + root,
		"ca line twice":        good + "ca corp\n",
		"empty ca name":        line + leaf + root + "ca \n",
		"empty line":           line + leaf + "\n" + root,
		"unknown line":         line + leaf + root + "note hi\n",
		"unpadded base64":      line + leaf + unpadded,
		"trailing DER byte":    line + leaf + certPrefix + base64.StdEncoding.EncodeToString(append(c.Chain[1].Raw, 0)) + "\n",
		"leaf alone":           line + leaf,
		"certificates swapped": line + root + leaf,
		"bad CA name":          line + leaf + root + "ca a/b\n",
	}
	if _, err := decodeContact([]byte(good), "alice"); err != nil {
		t.Fatalf("good file: %v", err)
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := decodeContact([]byte(data), "alice"); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// TestContactTooLarge refuses a contact file over the bound without
// reading it all.
func TestContactTooLarge(t *testing.T) {
	s := newStore(t)
	c := certifiedContact(t, "alice")
	path := filepath.Join(s.Dir(), contactsDir, "alice"+contactExt)
	data := append(encodeContact(c), bytes.Repeat([]byte("x"), int(maxContactSize))...)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Contact("alice"); err == nil {
		t.Fatal("a contact file over the bound was read")
	}
}
