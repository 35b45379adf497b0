package main

import (
	"crypto/x509"
	"os"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/cert"
)

// cmdMkcert is the script command that makes certificates with package
// cert, so that scripts need neither openssl nor the keyblob cert
// commands. Times are $KEYBLOB_TEST_NOW (the CLI's clock in scripts), or
// the system clock without it; durations are Go's (90m, -2h):
//
//	mkcert ca IDENTITY OUT [VALIDITY]
//	        a self-signed CA certificate for the identity file IDENTITY
//	        (valid 720h by default)
//	mkcert issue CA CAKEY IDENTITY NAME OUT [VALIDITY [START]]
//	        a certificate for IDENTITY issued by CA (its certificate, and
//	        its identity file CAKEY): NAME is an e-mail address (a person)
//	        or a DNS name (a server); valid VALIDITY (1h by default) from
//	        START after now (0 by default; a negative START is earlier)
//	mkcert crl CA CAKEY OUT CERT...
//	        a CRL of CA revoking the certificates CERT, now, for a day
//	mkcert der CERT OUT
//	        the first certificate of the PEM file CERT, in DER
func cmdMkcert(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: mkcert ca|issue|crl ...")
	}
	now := time.Now()
	if v := ts.Getenv(nowEnv); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		ts.Check(err)
		now = t
	}
	switch args[0] {
	case "ca":
		mkcertCA(ts, args[1:], now)
	case "issue":
		mkcertIssue(ts, args[1:], now)
	case "crl":
		mkcertCRL(ts, args[1:], now)
	case "der":
		if len(args) != 3 {
			ts.Fatalf("usage: mkcert der CERT OUT")
		}
		ts.Check(os.WriteFile(ts.MkAbs(args[2]), readScriptCert(ts, args[1]).Raw, 0o644))
	default:
		ts.Fatalf("usage: mkcert ca|issue|crl ...")
	}
}

func mkcertCA(ts *testscript.TestScript, args []string, now time.Time) {
	if len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: mkcert ca IDENTITY OUT [VALIDITY]")
	}
	validity := optDuration(ts, args, 2, 720*time.Hour)
	der, err := cert.NewCA(readScriptIdentity(ts, args[0]), "Script CA "+args[0], validity, now)
	ts.Check(err)
	writeScriptCert(ts, args[1], der)
}

func mkcertIssue(ts *testscript.TestScript, args []string, now time.Time) {
	if len(args) < 5 || len(args) > 7 {
		ts.Fatalf("usage: mkcert issue CA CAKEY IDENTITY NAME OUT [VALIDITY [START]]")
	}
	ca, caID := readScriptCA(ts, args[0], args[1])
	var names cert.Names
	if strings.Contains(args[3], "@") {
		names.Email = []string{args[3]}
	} else {
		names.DNS = []string{args[3]}
	}
	csr, err := cert.Request(readScriptIdentity(ts, args[2]), names)
	ts.Check(err)
	req, err := cert.ParseRequest(csr)
	ts.Check(err)
	validity := optDuration(ts, args, 5, time.Hour)
	der, err := cert.Issue(ca, caID, req, validity, now.Add(optDuration(ts, args, 6, 0)))
	ts.Check(err)
	writeScriptCert(ts, args[4], der)
}

func mkcertCRL(ts *testscript.TestScript, args []string, now time.Time) {
	if len(args) < 4 {
		ts.Fatalf("usage: mkcert crl CA CAKEY OUT CERT...")
	}
	ca, caID := readScriptCA(ts, args[0], args[1])
	var revoked []cert.Revoked
	for _, name := range args[3:] {
		revoked = append(revoked, cert.Revoked{Serial: readScriptCert(ts, name).SerialNumber, At: now})
	}
	der, err := cert.CreateCRL(ca, caID, revoked, now, now.Add(24*time.Hour))
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[2]), cert.EncodePEM(cert.PEMCRL, der), 0o644))
}

// optDuration returns args[i] as a duration, or def if it is not given.
func optDuration(ts *testscript.TestScript, args []string, i int, def time.Duration) time.Duration {
	if len(args) <= i {
		return def
	}
	d, err := time.ParseDuration(args[i])
	ts.Check(err)
	return d
}

func readScriptIdentity(ts *testscript.TestScript, name string) *keyblob.Identity {
	data, err := os.ReadFile(ts.MkAbs(name))
	ts.Check(err)
	id, err := keyblob.ParseIdentity(data)
	ts.Check(err)
	return id
}

func readScriptCert(ts *testscript.TestScript, name string) *x509.Certificate {
	data, err := os.ReadFile(ts.MkAbs(name))
	ts.Check(err)
	chain, err := cert.ParseChain(data)
	ts.Check(err)
	return chain[0]
}

func readScriptCA(ts *testscript.TestScript, caFile, keyFile string) (*x509.Certificate, *keyblob.Identity) {
	return readScriptCert(ts, caFile), readScriptIdentity(ts, keyFile)
}

func writeScriptCert(ts *testscript.TestScript, name string, der []byte) {
	ts.Check(os.WriteFile(ts.MkAbs(name), cert.EncodePEM(cert.PEMCertificate, der), 0o644))
}
