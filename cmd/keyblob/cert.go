package main

// keyblob cert request, cert ca, cert issue: X.509 certificates for
// keyblob identities (spec/cert.md), with package cert. A request goes to
// any CA that copies requested extensions (openssl x509 -req
// -copy_extensions copyall), or to the small built-in CA of cert ca and
// cert issue.

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keyblob/keyblob/cert"
	"github.com/keyblob/keyblob/internal/inspect"
	"github.com/spf13/cobra"
)

// Default validities of the built-in CA: short-lived certificates are the
// point, so issue defaults to 90 days.
const (
	defaultCAValidity   = 365 * 24 * time.Hour
	defaultCertValidity = 90 * 24 * time.Hour
)

func newCertCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "cert",
		Short: "X.509 certificates for identities (request, ca, issue)",
		Long: `keyblob cert makes certificates that let a CA vouch for a keyblob
identity (spec/cert.md): the certificate's key is the identity's signature
key, and an extension carries its recipient line, so the CA's signature
covers the exchange key too. 'cert request' writes a PKCS #10 request for
any CA that copies requested extensions (openssl x509 -req
-copy_extensions copyall); 'cert ca' and 'cert issue' are a small CA.`,
	}
	c.AddCommand(newCertRequestCmd(e), newCertCACmd(e), newCertIssueCmd(e))
	return c
}

func newCertRequestCmd(e *env) *cobra.Command {
	var id, out string
	var force bool
	var names cert.Names
	c := &cobra.Command{
		Use:   "request -i IDENTITY (--dns NAME | --email ADDR)... [-o FILE]",
		Short: "Write a certificate request (PKCS #10, PEM) for an identity",
		Long: `request writes a PEM certificate request signed by the identity's
signature key, for the DNS names of a server (--dns) or the e-mail
addresses of a person (--email), asking for the recipient extension and
the key usages they need. Any CA that copies requested extensions issues
a certificate keyblob accepts, e.g.

  openssl x509 -req -in req.csr -CA ca.pem -CAkey ca.key -copy_extensions copyall -days 90`,
		Args: argsExactly(0),
		RunE: func(c *cobra.Command, _ []string) error {
			if err := required(c, "identity"); err != nil {
				return err
			}
			if len(names.DNS)+len(names.Email) == 0 {
				return usagef("cert request needs --dns NAME or --email ADDR, the names to certify")
			}
			ident, err := e.loadIdentity(id)
			if err != nil {
				return err
			}
			der, err := cert.Request(ident, names)
			if err != nil {
				return err
			}
			return e.writeOutput(out, cert.EncodePEM(cert.PEMRequest, der), outputOptions{mode: modePublic, replace: force})
		},
	}
	c.Flags().StringVarP(&id, "identity", "i", "", "the `IDENTITY` to certify (a file or a stored identity)")
	c.Flags().StringArrayVar(&names.DNS, "dns", nil, "a DNS `NAME` of the server (repeatable)")
	c.Flags().StringArrayVar(&names.Email, "email", nil, "an e-mail `ADDR` of the person (repeatable)")
	outputFlag(c, &out, &force, "write the request to `FILE` instead of stdout")
	return c
}

func newCertCACmd(e *env) *cobra.Command {
	var id, name, out string
	var force bool
	valid := defaultCAValidity
	c := &cobra.Command{
		Use:   "ca -i CA-IDENTITY --name NAME [--valid DURATION] [-o FILE]",
		Short: "Make a self-signed CA certificate for an identity",
		Long: `ca writes a self-signed CA certificate (PEM) for the identity, named
NAME, valid for --valid (default 365d): the CA of 'cert issue'. Trust it
with 'keyblob ca add NAME FILE' or give it to --ca and --server-ca.`,
		Args: argsExactly(0),
		RunE: func(c *cobra.Command, _ []string) error {
			if err := required(c, "identity", "name"); err != nil {
				return err
			}
			ident, err := e.loadIdentity(id)
			if err != nil {
				return err
			}
			der, err := cert.NewCA(ident, name, valid, e.now())
			if err != nil {
				return err
			}
			return e.writeOutput(out, cert.EncodePEM(cert.PEMCertificate, der), outputOptions{mode: modePublic, replace: force})
		},
	}
	c.Flags().StringVarP(&id, "identity", "i", "", "the CA's `IDENTITY` (a file or a stored identity)")
	c.Flags().StringVar(&name, "name", "", "the CA's `NAME` (its subject common name)")
	durationFlag(c, &valid, "valid", "how long the CA certificate is valid (`DURATION`)")
	outputFlag(c, &out, &force, "write the certificate to `FILE` instead of stdout")
	return c
}

func newCertIssueCmd(e *env) *cobra.Command {
	var caFile, id, out string
	var force bool
	valid := defaultCertValidity
	c := &cobra.Command{
		Use:   "issue --ca CA-CERT -i CA-IDENTITY [--valid DURATION] [-o FILE] REQUEST",
		Short: "Issue a certificate for a request with the built-in CA",
		Long: `issue checks REQUEST (its signature and recipient extension) and writes
the chain (PEM: the new certificate, then the CA's) signed by
CA-IDENTITY, whose certificate is CA-CERT, valid for --valid (default
90d, seconds allowed; never past the CA's own end). Only the request's
names and recipient are copied.`,
		Args: argsExactly(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := required(c, "ca", "identity"); err != nil {
				return err
			}
			return e.issue(caFile, id, args[0], valid, outputTo{out, force})
		},
	}
	c.Flags().StringVar(&caFile, "ca", "", "the CA's certificate `FILE` (from 'cert ca')")
	c.Flags().StringVarP(&id, "identity", "i", "", "the CA's `IDENTITY` (a file or a stored identity)")
	durationFlag(c, &valid, "valid", "how long the certificate is valid (`DURATION`)")
	outputFlag(c, &out, &force, "write the chain to `FILE` instead of stdout")
	return c
}

// issue is cert issue.
func (e *env) issue(caFile, id, reqFile string, valid time.Duration, to outputTo) error {
	ca, err := e.readCert(caFile)
	if err != nil {
		return err
	}
	ident, err := e.loadIdentity(id)
	if err != nil {
		return err
	}
	data, err := e.readLimited(reqFile, "certificate request", cert.MaxCertificateSize*2)
	if err != nil {
		return err
	}
	req, err := cert.ParseRequest(data)
	if err != nil {
		return certInput(fmt.Errorf("request %s: %w", reqFile, err), data, reqFile, "certificate request")
	}
	der, err := cert.Issue(ca, ident, req, valid, e.now())
	if err != nil {
		return err
	}
	pem := append(cert.EncodePEM(cert.PEMCertificate, der), cert.EncodePEM(cert.PEMCertificate, ca.Raw)...)
	return e.writeOutput(to.name, pem, outputOptions{mode: modePublic, replace: to.force})
}

// readCert reads the first certificate of a file.
func (e *env) readCert(file string) (*x509.Certificate, error) {
	data, err := e.readLimited(file, "certificate", cert.MaxChainSize)
	if err != nil {
		return nil, err
	}
	chain, err := cert.ParseChain(data)
	if err != nil {
		return nil, certInput(fmt.Errorf("%s: %w", file, err), data, file, "certificate")
	}
	return chain[0], nil
}

// certInput adds the hint for a certificate or request that does not
// parse because the file is another kind of keyblob file (wrongInput's
// hint, for package cert's ErrMalformed).
func certInput(err error, data []byte, name, want string) error {
	k := inspect.Classify(data).Readable()
	if !errors.Is(err, cert.ErrMalformed) || k == nil || k.Name == want || k.Use == "" {
		return err
	}
	use := strings.ReplaceAll(k.Use, "{file}", hintName(name))
	return withHint(err, "%s is %s, not %s: %s", shownName(name), withArticle(k.Name), withArticle(want), use)
}
