package keystore

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
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
	// MaxAuthorityCAs bounds the CA certificates stored with one
	// authority.
	MaxAuthorityCAs = 16
	// MaxAuthorityCA bounds one stored CA certificate, DER-encoded.
	MaxAuthorityCA = 16 << 10
	// insecureHTTPLine and caPrefix begin the optional lines of an
	// authority file (spec/keystore.md section 5.1).
	insecureHTTPLine = "insecure-http"
	caPrefix         = "ca "
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
	// InsecureHTTP records that the user allowed plain http:// to this
	// authority although its host may not be a loopback address. Only
	// an http:// authority has it; the store only records it, the client
	// decides what it allows.
	InsecureHTTP bool
	// CAs are the certificates of the private CAs that alone are trusted
	// for this authority's TLS connections; none means the system's
	// roots. Only an https:// authority has them, in the order given.
	CAs []*x509.Certificate
}

// AuthorityOptions say how AddAuthority stores an authority. The zero
// value, or nil, creates a new one with neither InsecureHTTP nor CAs.
type AuthorityOptions struct {
	// Replace replaces an existing authority of the name; without it,
	// the name must be free (ErrExists).
	Replace bool
	// InsecureHTTP and CAs are stored as Authority's fields of those
	// names (CheckAuthority says which are allowed).
	InsecureHTTP bool
	CAs          []*x509.Certificate
}

// CheckAuthorityURL reports whether u can be stored as an authority's
// URL: http or https, a host, no query, fragment or user information,
// no white space or control character, at most MaxAuthorityURL bytes.
func CheckAuthorityURL(u string) error {
	p, err := url.Parse(u)
	switch {
	case len(u) > MaxAuthorityURL || strings.ContainsFunc(u, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return fmt.Errorf("%w (at most %d bytes, no spaces or control characters)", ErrAuthorityURL, MaxAuthorityURL)
	case err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "":
		return fmt.Errorf("%w %q (want http://HOST[:PORT][/PATH] or https://…)", ErrAuthorityURL, u)
	case p.RawQuery != "" || p.Fragment != "" || p.User != nil || strings.Contains(u, "#"):
		return fmt.Errorf("%w %q: no query, fragment or user name", ErrAuthorityURL, u)
	}
	return nil
}

// ErrAuthorityURL is wrapped by the error of a URL that cannot name an
// authority. It is a keyblob.ErrMalformed too.
var ErrAuthorityURL = fmt.Errorf("%w authority URL", keyblob.ErrMalformed)

// CheckAuthority reports whether a can be stored (its Name is not
// checked): its URL passes CheckAuthorityURL, its recipient has an
// exchange key and a signature key, InsecureHTTP goes only with an
// http:// URL and CAs only with an https:// one, and the CAs are at most
// MaxAuthorityCAs distinct certificates, each at most MaxAuthorityCA
// bytes of DER (their Raw field) that x509.ParseCertificate accepts.
func CheckAuthority(a *Authority) error {
	if err := CheckAuthorityURL(a.URL); err != nil {
		return err
	}
	if a.Recipient == nil || !a.Recipient.CanExchange() || !a.Recipient.CanVerify() {
		return errors.New("an authority's recipient must have an exchange key and a signature key")
	}
	p, _ := url.Parse(a.URL) // CheckAuthorityURL parsed it
	switch scheme := p.Scheme; {
	case a.InsecureHTTP && scheme != "http":
		return fmt.Errorf("%w authority: only an http:// authority is marked insecure-http", keyblob.ErrMalformed)
	case len(a.CAs) > 0 && scheme != "https":
		return fmt.Errorf("%w authority: only an https:// authority has CA certificates", keyblob.ErrMalformed)
	case len(a.CAs) > MaxAuthorityCAs:
		return fmt.Errorf("%w authority: more than %d CA certificates", keyblob.ErrMalformed, MaxAuthorityCAs)
	}
	for i, c := range a.CAs {
		if err := checkCA(c, a.CAs[:i]); err != nil {
			return err
		}
	}
	return nil
}

// checkCA checks one CA certificate of an authority, given the ones
// before it.
func checkCA(c *x509.Certificate, before []*x509.Certificate) error {
	if c == nil || len(c.Raw) == 0 || len(c.Raw) > MaxAuthorityCA {
		return fmt.Errorf("%w authority CA certificate: want 1 to %d bytes of DER", keyblob.ErrMalformed, MaxAuthorityCA)
	}
	if _, err := x509.ParseCertificate(c.Raw); err != nil {
		return fmt.Errorf("%w authority CA certificate: %v", keyblob.ErrMalformed, err)
	}
	for _, b := range before {
		if bytes.Equal(b.Raw, c.Raw) {
			return fmt.Errorf("%w authority: the same CA certificate twice", keyblob.ErrMalformed)
		}
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
	if opts == nil {
		opts = &AuthorityOptions{}
	}
	a := &Authority{Name: name, URL: u, Recipient: r, InsecureHTTP: opts.InsecureHTTP, CAs: opts.CAs}
	if err := CheckAuthority(a); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(s.dir, authoritiesDir), 0o700); err != nil {
		return err
	}
	replace := opts.Replace
	return s.writeEntry(write{
		entry:   entry{path: path, what: "authority", name: name, mode: 0o600},
		data:    []byte(encodeAuthority(a)),
		replace: replace,
		check:   func() error { return s.dropLogState(name, replace, r) },
	})
}

// Authority returns a stored authority. Its file must be the URL line,
// the recipient line, then optionally an "insecure-http" line and "ca"
// lines, each ended by one line feed (spec/keystore.md section 5.1).
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

// encodeAuthority is the file of a checked authority: the URL, the
// recipient line, "insecure-http" if so marked, then one "ca" line per
// CA certificate (base64 of its DER, with padding), each ended by a line
// feed.
func encodeAuthority(a *Authority) string {
	var b strings.Builder
	b.WriteString(a.URL + "\n" + a.Recipient.String() + "\n")
	if a.InsecureHTTP {
		b.WriteString(insecureHTTPLine + "\n")
	}
	for _, c := range a.CAs {
		b.WriteString(caPrefix + base64.StdEncoding.EncodeToString(c.Raw) + "\n")
	}
	return b.String()
}

// decodeAuthority reads what encodeAuthority writes, and nothing else:
// unknown, repeated, misplaced or empty lines and non-canonical base64
// are refused.
func decodeAuthority(name, data string) (*Authority, error) {
	body, ok := strings.CutSuffix(data, "\n")
	lines := strings.Split(body, "\n")
	if !ok || len(lines) < 2 {
		return nil, fmt.Errorf("%w authority file: want a URL line and a recipient line", keyblob.ErrMalformed)
	}
	if err := CheckAuthorityURL(lines[0]); err != nil {
		return nil, err
	}
	r, err := keyblob.ParseRecipientLine(lines[1])
	if err != nil {
		return nil, err
	}
	a := &Authority{Name: name, URL: lines[0], Recipient: r}
	rest := lines[2:]
	if len(rest) > 0 && rest[0] == insecureHTTPLine {
		a.InsecureHTTP, rest = true, rest[1:]
	}
	for _, line := range rest {
		if err := a.decodeCA(line); err != nil {
			return nil, err
		}
	}
	if err := CheckAuthority(a); err != nil {
		return nil, err
	}
	return a, nil
}

// decodeCA appends the certificate of a "ca" line to a.CAs.
func (a *Authority) decodeCA(line string) error {
	b64, ok := strings.CutPrefix(line, caPrefix)
	switch {
	case !ok:
		return fmt.Errorf("%w authority file: unexpected line %.40q (after the recipient: insecure-http, then ca lines)", keyblob.ErrMalformed, line)
	case len(a.CAs) == MaxAuthorityCAs:
		return fmt.Errorf("%w authority file: more than %d CA certificates", keyblob.ErrMalformed, MaxAuthorityCAs)
	case len(b64) > base64.StdEncoding.EncodedLen(MaxAuthorityCA):
		return fmt.Errorf("%w authority file: a CA certificate over %d bytes", keyblob.ErrMalformed, MaxAuthorityCA)
	}
	der, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil || base64.StdEncoding.EncodeToString(der) != b64 {
		return fmt.Errorf("%w authority file: a ca line is not canonical base64", keyblob.ErrMalformed)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("%w authority file: CA certificate: %v", keyblob.ErrMalformed, err)
	}
	a.CAs = append(a.CAs, c)
	return nil
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

// ParseAuthorityFile reads the contents of an authority file
// (authorities/NAME.auth, spec/keystore.md section 5.1), as Authority
// does, for a reader of the file alone (inspect). Name is left empty.
func ParseAuthorityFile(data []byte) (*Authority, error) {
	return decodeAuthority("", string(data))
}

// IsAuthorityFile reports whether head starts like an authority file: a
// URL line, then a recipient line.
func IsAuthorityFile(head []byte) bool {
	first, rest, ok := strings.Cut(string(head), "\n")
	return ok && (strings.HasPrefix(first, "https://") || strings.HasPrefix(first, "http://")) &&
		strings.HasPrefix(rest, keyblob.RecipientPrefix)
}
