package main

// The PostgreSQL password of --db, kept out of the URL (which ps shows):
// --db-password-file FILE, or libpq's own PGPASSWORD and PGPASSFILE
// (~/.pgpass), which pgx reads when the URL has no password.

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/keyblob/keyblob/internal/format"
)

// dbPasswordUsage is the help of --db-password-file.
const dbPasswordUsage = "read the PostgreSQL password from `FILE` (else PGPASSWORD or PGPASSFILE; one in the URL shows in ps)"

// maxDBPassword bounds a --db-password-file.
const maxDBPassword = 4 << 10

// postgresDSN is v's PostgreSQL URL, with the password of
// --db-password-file, if given, appended as its password parameter,
// which takes precedence over PGPASSWORD and PGPASSFILE. A URL that
// holds a password already is refused with the file: one source only.
func (v *dbValue) postgresDSN() (string, error) {
	if v.passwordFile == "" {
		return v.url, nil
	}
	if pgURLHasPassword(v.url) {
		return "", usagef("--db-password-file: the --db URL holds a password already: take it out of the URL")
	}
	pw, err := readDBPassword(v.passwordFile)
	if err != nil {
		return "", err
	}
	sep := "?"
	switch {
	case strings.HasSuffix(v.url, "?") || strings.HasSuffix(v.url, "&"):
		sep = ""
	case strings.Contains(v.url, "?"):
		sep = "&"
	}
	return v.url + sep + "password=" + percentEncode(pw), nil
}

// pgURLHasPassword reports whether the postgres:// URL u carries a
// password, as pgx reads it: in the user information (before the first
// '@' that comes before any '/'), or as a password query parameter.
func pgURLHasPassword(u string) bool {
	_, rest, _ := strings.Cut(u, "://")
	if i := strings.IndexAny(rest, "@/"); i >= 0 && rest[i] == '@' {
		if _, pw, ok := strings.Cut(rest[:i], ":"); ok && pw != "" {
			return true
		}
	}
	_, query, _ := strings.Cut(rest, "?")
	for pair := range strings.SplitSeq(query, "&") {
		key, _, _ := strings.Cut(pair, "=")
		if k, err := url.PathUnescape(key); err != nil || k == "password" {
			return true // an undecodable key could be anything
		}
	}
	return false
}

// readDBPassword reads a --db-password-file: the password, optionally
// ended by one line feed (or CR LF), and nothing else. Its errors never
// show the file's content.
func readDBPassword(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", fmt.Errorf("--db-password-file: %w", err)
	}
	defer f.Close()
	data, err := format.ReadAll(f, maxDBPassword)
	if err != nil {
		return "", fmt.Errorf("--db-password-file %s: %w", name, err)
	}
	defer clear(data)
	data = bytes.TrimSuffix(data, []byte("\n"))
	data = bytes.TrimSuffix(data, []byte("\r"))
	if len(data) == 0 || bytes.ContainsAny(data, "\r\n\x00") {
		return "", withHint(fmt.Errorf("--db-password-file %s: %w", name, errors.New("want one line: the password")), "write the password alone in the file, on one line")
	}
	return string(data), nil
}

// percentEncode escapes every byte of s but the unreserved ones of RFC
// 3986, so that pgx's URL parser reads s back unchanged whatever it
// holds ('&', '=', '+', '%', '#', spaces, UTF-8).
func percentEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
