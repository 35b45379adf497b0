package main

// How the client reaches a backup authority: plain http:// only to a
// loopback address unless the user allowed it (--insecure-http), and
// https:// trusting the system's roots, or only the private CAs given
// with --ca-file. Every escrow command and 'authority add' build their
// HTTP client here, so that add checks an authority over the very
// connection the later commands use.

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/keyblob/keyblob/keystore"
)

// maxCAFile bounds a --ca-file.
const maxCAFile = 256 << 10

// maxRedirects bounds the redirects one request follows, as net/http's
// default policy does.
const maxRedirects = 10

// isLoopbackHost reports whether host, a URL's host without its port,
// is "localhost" or a loopback address (127.0.0.0/8, ::1).
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// checkTransport refuses plain http:// to a host that is not a loopback
// address unless a allows it. It looks at the URL only: nothing is
// resolved or connected to.
func checkTransport(a *keystore.Authority, u *url.URL) error {
	if u.Scheme != "http" || a.InsecureHTTP || isLoopbackHost(u.Hostname()) {
		return nil
	}
	err := fmt.Errorf("refusing plain http:// to %s, which is not a loopback address: requests, receipts and recovered blobs would cross the network unprotected", u.Host)
	if a.Name != "" {
		return withHint(err, "use https://, or, on a network you trust, record that you allow it: 'keyblob authority add --force --insecure-http %s URL RECIPIENT'", a.Name)
	}
	return withHint(err, "use https://, or, on a network you trust, add --insecure-http (to 'keyblob authority add', or next to --authority URL)")
}

// authorityHTTP is the HTTP client of the authority a: requests bounded
// by requestTimeout, TLS 1.2 or later verified against a's CAs alone
// when it has some (the system's roots otherwise), and redirects held to
// the rule of checkTransport and never from https:// to http://.
func authorityHTTP(a *keystore.Authority) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	if len(a.CAs) > 0 {
		pool := x509.NewCertPool()
		for _, c := range a.CAs {
			pool.AddCert(c)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	return &http.Client{Timeout: requestTimeout, Transport: tr, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		switch {
		case len(via) >= maxRedirects:
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		case via[0].URL.Scheme == "https" && req.URL.Scheme != "https":
			return fmt.Errorf("refusing a redirect from https:// to %s", req.URL.Redacted())
		}
		return checkTransport(a, req.URL)
	}}
}

// urlAuthority is the authority a command line names by URL: its
// recipient (a line, file or contact), --insecure-http, and the CAs of
// --ca-file (if not ""). It is checked as the key store would check it.
func (e *env) urlAuthority(u, recipient string, insecure bool, caFile string) (*keystore.Authority, error) {
	if err := keystore.CheckAuthorityURL(u); err != nil {
		return nil, err
	}
	p, _ := url.Parse(u) // CheckAuthorityURL parsed it
	switch {
	case insecure && p.Scheme != "http":
		return nil, usagef("--insecure-http is for an http:// URL, not %s", u)
	case caFile != "" && p.Scheme != "https":
		return nil, usagef("--ca-file is for an https:// URL, not %s", u)
	}
	r, err := e.loadRecipient(recipient)
	if err != nil {
		return nil, err
	}
	a := &keystore.Authority{URL: u, Recipient: r, InsecureHTTP: insecure}
	if caFile != "" {
		if a.CAs, err = e.readCAFile(caFile); err != nil {
			return nil, err
		}
	}
	if err := keystore.CheckAuthority(a); err != nil {
		return nil, err
	}
	return a, nil
}

// readCAFile reads --ca-file: PEM CERTIFICATE blocks (text between them,
// as in CA bundles, is skipped), at least one and at most
// keystore.MaxAuthorityCAs, each a certificate x509 parses. A block of
// another type, or one that does not decode, is refused.
func (e *env) readCAFile(name string) ([]*x509.Certificate, error) {
	data, err := e.readLimited(name, "CA file", maxCAFile)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for rest := data; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		switch {
		case block.Type != "CERTIFICATE":
			return nil, caFileError(name, fmt.Errorf("a %s block, not a CERTIFICATE", block.Type))
		case len(certs) == keystore.MaxAuthorityCAs:
			return nil, caFileError(name, fmt.Errorf("more than %d certificates", keystore.MaxAuthorityCAs))
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, caFileError(name, err)
		}
		certs = append(certs, c)
	}
	// pem.Decode skips what it cannot decode: count the blocks begun.
	if begun := bytes.Count(data, []byte("-----BEGIN ")); begun != len(certs) || begun == 0 {
		return nil, caFileError(name, errors.New("want PEM certificates only, and at least one"))
	}
	return certs, nil
}

func caFileError(name string, err error) error {
	return withHint(fmt.Errorf("--ca-file %s: %w", name, err), "give the PEM certificate (-----BEGIN CERTIFICATE-----) of the CA that signed the authority's TLS certificate")
}
