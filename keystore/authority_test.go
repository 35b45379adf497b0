package keystore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyblob/keyblob"
)

func authorityRecipient(t testing.TB) *keyblob.Recipient {
	id, err := keyblob.GenerateIdentity(keyblob.KindX25519)
	if err != nil {
		t.Fatal(err)
	}
	return id.Recipient()
}

// TestAuthorityRoundTrip stores an authority and reads it back: the same
// URL and recipient, a 0600 file, a name that is not replaced without
// Replace, and removal.
func TestAuthorityRoundTrip(t *testing.T) {
	s := newStore(t)
	r := authorityRecipient(t)
	if err := s.AddAuthority("backup", "https://escrow.example/base", r, nil); err != nil {
		t.Fatal(err)
	}
	a, err := s.Authority("backup")
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "backup" || a.URL != "https://escrow.example/base" || !a.Recipient.Equal(r) {
		t.Errorf("read back %+v", a)
	}
	st, err := os.Stat(filepath.Join(s.Dir(), authoritiesDir, "backup"+authorityExt))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("authority file: %v, mode %v", err, st.Mode())
	}
	other := authorityRecipient(t)
	if err := s.AddAuthority("backup", "http://127.0.0.1:1", other, nil); !errors.Is(err, ErrExists) {
		t.Errorf("second add without Replace: %v", err)
	}
	if err := s.AddAuthority("backup", "http://127.0.0.1:1", other, &AuthorityOptions{Replace: true}); err != nil {
		t.Fatal(err)
	}
	if all, err := s.Authorities(); err != nil || len(all) != 1 || !all[0].Recipient.Equal(other) {
		t.Errorf("Authorities: %v, %v", all, err)
	}
	if err := s.RemoveAuthority("backup"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authority("backup"); !errors.Is(err, ErrNotFound) {
		t.Errorf("after removal: %v", err)
	}
	if err := s.RemoveAuthority("backup"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second removal: %v", err)
	}
}

// TestAuthorityURLRefused checks the URLs AddAuthority refuses.
func TestAuthorityURLRefused(t *testing.T) {
	s := newStore(t)
	r := authorityRecipient(t)
	for _, u := range []string{"", "ftp://x", "http://", "http://h/?q=1", "http://h/#f", "http://u:p@h/",
		"http://h/a b", "http://h/\n", "https://h/" + strings.Repeat("a", MaxAuthorityURL), "h:80"} {
		if err := s.AddAuthority("a", u, r, nil); !errors.Is(err, keyblob.ErrMalformed) {
			t.Errorf("AddAuthority(%q) = %v, want ErrMalformed", u, err)
		}
	}
	if _, err := s.Authority("a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a refused authority was stored: %v", err)
	}
}

// TestAuthorityDamaged checks that a file that is not exactly a URL line
// and a recipient line is refused.
func TestAuthorityDamaged(t *testing.T) {
	r := authorityRecipient(t)
	good := "http://127.0.0.1:8080\n" + r.String() + "\n"
	if _, err := decodeAuthority("a", good); err != nil {
		t.Fatal(err)
	}
	for _, data := range []string{"", good[:len(good)-1], good + "\n", good + "x\n", "\n" + good,
		"http://127.0.0.1:8080\n" + r.String()[1:] + "\n", strings.Replace(good, "\n", "\r\n", 1)} {
		if _, err := decodeAuthority("a", data); err == nil {
			t.Errorf("decodeAuthority(%q) accepted", data)
		}
	}
}

// FuzzDecodeAuthority: never a panic, and what decodes encodes back to
// the same bytes.
func FuzzDecodeAuthority(f *testing.F) {
	r := authorityRecipient(f)
	f.Add("http://127.0.0.1:8080\n" + r.String() + "\n")
	f.Add("https://h/p\nkeyblob:x\n")
	f.Add("http://192.0.2.1\n" + r.String() + "\ninsecure-http\n")
	f.Add("https://h\n" + r.String() + "\n" + caLine(testCA(f, "fuzz")))
	f.Fuzz(func(t *testing.T, data string) {
		a, err := decodeAuthority("a", data)
		if err != nil {
			return
		}
		if again := encodeAuthority(a); again != data {
			t.Fatalf("decoded %q, encodes as %q", data, again)
		}
	})
}
