package keystore

import (
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/cert"
)

// testCACert returns a CA certificate made by cert.NewCA, and a leaf
// certificate it issued.
func testCACert(t *testing.T) (ca, leaf *x509.Certificate) {
	t.Helper()
	id, err := keyblob.GenerateIdentity(keyblob.KindX25519)
	if err != nil {
		t.Fatal(err)
	}
	der, err := cert.NewCA(id, "Example CA", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if ca, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	csr, err := cert.Request(id, cert.Names{DNS: []string{"db.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	req, err := cert.ParseRequest(csr)
	if err != nil {
		t.Fatal(err)
	}
	if der, err = cert.Issue(ca, id, req, time.Minute, time.Now()); err != nil {
		t.Fatal(err)
	}
	if leaf, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	return ca, leaf
}

// TestCARoundTrip stores a CA and reads it back: the same certificate, a
// 0644 file, no replacement without Replace, listing, removal.
func TestCARoundTrip(t *testing.T) {
	s := newStore(t)
	ca, _ := testCACert(t)
	if err := s.AddCA("corp", ca, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.CA("corp")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "corp" || !got.Cert.Equal(ca) {
		t.Errorf("read back %+v", got)
	}
	path := filepath.Join(s.Dir(), casDir, "corp"+caExt)
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("CA file: %v, mode %v", err, st.Mode())
	}
	if err := s.AddCA("corp", ca, nil); !errors.Is(err, ErrExists) {
		t.Errorf("AddCA over an existing CA: %v, want ErrExists", err)
	}
	if err := s.AddCA("corp", ca, &CAOptions{Replace: true}); err != nil {
		t.Errorf("AddCA with Replace: %v", err)
	}
	list, err := s.CAs()
	if err != nil || len(list) != 1 || list[0].Name != "corp" {
		t.Errorf("CAs: %v, %v", list, err)
	}
	if err := s.RemoveCA("corp"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CA("corp"); !errors.Is(err, ErrNotFound) {
		t.Errorf("CA after RemoveCA: %v, want ErrNotFound", err)
	}
	if err := s.RemoveCA("corp"); !errors.Is(err, ErrNotFound) {
		t.Errorf("RemoveCA twice: %v, want ErrNotFound", err)
	}
}

func TestCARefuses(t *testing.T) {
	s := newStore(t)
	ca, leaf := testCACert(t)
	if err := s.AddCA("leaf", leaf, nil); !errors.Is(err, ErrNotCA) {
		t.Errorf("AddCA of a leaf: %v, want ErrNotCA", err)
	}
	if err := s.AddCA("../x", ca, nil); err == nil {
		t.Error("AddCA with a bad name")
	}
	if err := s.AddCA("corp", ca, nil); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(s.Dir(), casDir, "corp"+caExt)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	damaged := map[string][]byte{
		"comment before": append([]byte("# corp\n"), good...),
		"trailing byte":  append(append([]byte(nil), good...), '\n'),
		"two blocks":     append(append([]byte(nil), good...), good...),
		"other type":     []byte("-----BEGIN PUBLIC KEY-----\n" + string(good[28:len(good)-26]) + "-----END PUBLIC KEY-----\n"),
		"no line feed":   good[:len(good)-1],
		"empty":          nil,
	}
	for what, data := range damaged {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CA("corp"); err == nil {
			t.Errorf("%s: read", what)
		}
	}
	if err := os.WriteFile(path, good, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CA("corp"); err != nil {
		t.Errorf("the file as written, written back: %v", err)
	}
	if err := os.WriteFile(path, []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveCA("corp"); err != nil {
		t.Errorf("RemoveCA of a damaged file: %v", err)
	}
}
