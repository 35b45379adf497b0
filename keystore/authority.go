package keystore

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/atomicfile"
)

const (
	authoritiesDir = "authorities"
	authorityExt   = ".auth"
	// MaxAuthorityURL bounds an authority's URL.
	MaxAuthorityURL = 2048
)

// An Authority is a named backup authority (spec/keystore.md section 5.1):
// the base URL of its service and the recipient line its operator gave,
// which is what requests are sealed to and receipts verified with (never
// the one the service reports). Like contacts, authorities are neither
// encrypted nor signed: they are as trustworthy as the disk.
type Authority struct {
	Name      string
	URL       string
	Recipient *keyblob.Recipient
}

// AuthorityOptions say how AddAuthority stores an authority. The zero
// value, or nil, creates a new one.
type AuthorityOptions struct {
	// Replace replaces an existing authority of the name; without it,
	// the name must be free (ErrExists).
	Replace bool
}

// CheckAuthorityURL reports whether u can be stored as an authority's
// URL: http or https, a host, no query, fragment or user information,
// no white space or control character, at most MaxAuthorityURL bytes.
func CheckAuthorityURL(u string) error {
	p, err := url.Parse(u)
	switch {
	case len(u) > MaxAuthorityURL || strings.ContainsFunc(u, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return fmt.Errorf("%w authority URL (at most %d bytes, no spaces or control characters)", keyblob.ErrMalformed, MaxAuthorityURL)
	case err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "":
		return fmt.Errorf("%w authority URL %q (want http://HOST[:PORT][/PATH] or https://…)", keyblob.ErrMalformed, u)
	case p.RawQuery != "" || p.Fragment != "" || p.User != nil || strings.Contains(u, "#"):
		return fmt.Errorf("%w authority URL %q: no query, fragment or user name", keyblob.ErrMalformed, u)
	}
	return nil
}

// AddAuthority stores an authority under name, in a name space of its
// own (an authority may share its name with a contact or an identity:
// only --authority looks names up there). The file is written atomically
// with mode 0600. Any log state stored for the name (UpdateLogState) is
// removed first, under the same hold of the lock, unless the authority
// replaced has the same key (it moved to another URL): the state was
// about another authority's log.
func (s *Store) AddAuthority(name, u string, r *keyblob.Recipient, opts *AuthorityOptions) error {
	path, err := s.path(authoritiesDir, name, authorityExt)
	if err != nil {
		return err
	}
	if err := CheckAuthorityURL(u); err != nil {
		return err
	}
	if !r.CanExchange() || !r.CanVerify() {
		return errors.New("an authority's recipient must have an exchange key and a signature key")
	}
	if err := os.MkdirAll(filepath.Join(s.dir, authoritiesDir), 0o700); err != nil {
		return err
	}
	replace := opts != nil && opts.Replace
	return s.writeEntry(write{
		entry:   entry{path: path, what: "authority", name: name, mode: 0o600},
		data:    []byte(u + "\n" + r.String() + "\n"),
		replace: replace,
		check:   func() error { return s.dropLogState(name, replace, r) },
	})
}

// Authority returns a stored authority. Its file must be exactly two
// lines, the URL and the recipient line, each ended by one line feed.
func (s *Store) Authority(name string) (*Authority, error) {
	path, err := s.path(authoritiesDir, name, authorityExt)
	if err != nil {
		return nil, err
	}
	data, err := readEntry(path, "authority", name)
	if err != nil {
		return nil, err
	}
	a, err := decodeAuthority(name, string(data))
	if err != nil {
		return nil, fmt.Errorf("authority %q: %w", name, err)
	}
	return a, nil
}

func decodeAuthority(name, data string) (*Authority, error) {
	lines := strings.Split(data, "\n")
	if len(lines) != 3 || lines[2] != "" {
		return nil, fmt.Errorf("%w authority file: want a URL line and a recipient line", keyblob.ErrMalformed)
	}
	if err := CheckAuthorityURL(lines[0]); err != nil {
		return nil, err
	}
	r, err := keyblob.ParseRecipientLine(lines[1])
	if err != nil {
		return nil, err
	}
	return &Authority{Name: name, URL: lines[0], Recipient: r}, nil
}

// Authorities lists the stored authorities, by name.
func (s *Store) Authorities() ([]*Authority, error) {
	names, err := s.list(authoritiesDir, authorityExt)
	if err != nil {
		return nil, err
	}
	var out []*Authority
	for _, name := range names {
		a, err := s.Authority(name)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// RemoveAuthority deletes a stored authority, even one whose file is
// damaged, and its log state if it has one. The state goes first, so that
// a writer killed in between never leaves a state that a later authority
// of the name would inherit.
func (s *Store) RemoveAuthority(name string) error {
	held, err := s.exists(authoritiesDir, name, authorityExt)
	switch {
	case err != nil:
		return err
	case !held:
		return fmt.Errorf("%w: authority %q", ErrNotFound, name)
	}
	path, _ := s.path(authoritiesDir, name, authorityExt)
	return s.withLock(func() error {
		if err := s.removeLogState(name); err != nil {
			return err
		}
		return atomicfile.Remove(path)
	})
}
