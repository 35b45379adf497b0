package inspect

import (
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/cert"
)

// What inspect says about X.509 certificates (chains) and certificate
// requests (spec/cert.md): who they name, who issued them, when they are
// valid, and the recipient their extension carries. Nothing here verifies
// a chain: the commands that take --ca do.

// describeCertificate describes a certificate chain (PEM), leaf first:
// the first certificate in full, and every certificate of the chain in a
// line.
func describeCertificate(rep *Report, in *input) error {
	return in.text(rep, describeCertificateData)
}

func describeCertificateData(rep *Report, data []byte) error {
	chain, err := cert.ParseChain(data)
	if err != nil {
		return err
	}
	c := chain[0]
	rep.setType("certificate")
	rep.add("encoding", "encoding", "PEM")
	addName(rep, "subject", "subject", c.Subject.String())
	addNames(rep, c.DNSNames, c.EmailAddresses)
	addName(rep, "issuer", "issuer", c.Issuer.String())
	rep.add("serial", "serial", c.SerialNumber.Text(16))
	rep.add("not_before", "not before", c.NotBefore)
	rep.add("not_after", "not after", c.NotAfter)
	rep.add("is_ca", "CA", c.BasicConstraintsValid && c.IsCA)
	rep.addShown("ext_key_usage", "for", extKeyUsages(c.ExtKeyUsage), usageText(c.ExtKeyUsage))
	rep.add("public_key_alg", "public key", c.PublicKeyAlgorithm.String())
	rep.add("sha256", "sha256", certSHA256(c.Raw))
	r, err := cert.Recipient(c)
	describeRecipientExtension(rep, c.Extensions, r, err)
	describeChain(rep, chain)
	rep.addText("checked", "no: the chain is verified by the commands that trust it (--ca, --server-ca)")
	return nil
}

// describeRequest describes a certificate request (PEM), whose signature
// ParseRequest checks.
func describeRequest(rep *Report, in *input) error {
	return in.text(rep, describeRequestData)
}

func describeRequestData(rep *Report, data []byte) error {
	req, err := cert.ParseRequest(data)
	if err != nil {
		return err
	}
	rep.setType("certificate_request")
	rep.add("encoding", "encoding", "PEM")
	addName(rep, "subject", "subject", req.Subject.String())
	addNames(rep, req.DNSNames, req.EmailAddresses)
	rep.add("public_key_alg", "public key", req.PublicKeyAlgorithm.String())
	r, err := cert.RequestRecipient(req)
	describeRecipientExtension(rep, req.Extensions, r, err)
	rep.addText("checked", "its signature, by its key; whether it names its holder is the CA's to check")
	return nil
}

// describeRecipientExtension records the recipient that the recipient
// extension carries (r, or cert's refusal err): its keys and
// recipient_valid true; null and false for an extension that cert refuses
// (err, in the text form); null and null for a file without one (an
// ordinary X.509 certificate, a CA's).
func describeRecipientExtension(rep *Report, exts []pkix.Extension, r *keyblob.Recipient, err error) {
	switch {
	case !hasRecipientExtension(exts):
		rep.addShown("recipient", "recipient", nil, "none (no keyblob recipient extension)")
		rep.addJSON("recipient_valid", nil)
	case err != nil:
		rep.addShown("recipient", "recipient", nil, "invalid: "+err.Error())
		rep.addJSON("recipient_valid", false)
	default:
		rep.addText("recipient", "in the keyblob recipient extension, with these keys:")
		describeKeys(rep, r)
		rep.addJSON("recipient_valid", true)
	}
}

// hasRecipientExtension reports whether exts hold a recipient extension,
// good or bad.
func hasRecipientExtension(exts []pkix.Extension) bool {
	for _, e := range exts {
		if e.Id.Equal(cert.OIDRecipient) {
			return true
		}
	}
	return false
}

// describeChain records every certificate of a chain, leaf first.
func describeChain(rep *Report, chain []*x509.Certificate) {
	list := make([]object, len(chain))
	lines := make([]string, len(chain))
	for i, c := range chain {
		list[i] = chainObject(c)
		role := "certificate"
		if c.BasicConstraintsValid && c.IsCA {
			role = "CA"
		}
		lines[i] = fmt.Sprintf("%d: %s %s, issued by %s, until %s", i+1, role, safeText(c.Subject.String()), safeText(c.Issuer.String()), textOf(c.NotAfter))
	}
	rep.addText("chain", fmt.Sprintf("%d certificate(s), leaf first", len(chain)))
	rep.addShown("chain", "certificate", list, lines...)
}

// chainObject is the JSON form of a certificate of a chain.
func chainObject(c *x509.Certificate) object {
	return object{
		{key: "subject", value: c.Subject.String()},
		{key: "issuer", value: c.Issuer.String()},
		{key: "not_after", value: c.NotAfter},
		{key: "is_ca", value: c.BasicConstraintsValid && c.IsCA},
		{key: "sha256", value: certSHA256(c.Raw)},
	}
}

// addName records a name from the file: as it is in the JSON form; in the
// text form quoted if it holds anything but printable characters, so that
// no name can pass for another line.
func addName(rep *Report, key, label, name string) {
	rep.addShown(key, label, name, safeText(name))
}

// addNames records the subjectAltName names keyblob uses: DNS names and
// e-mail addresses, empty lists when there are none.
func addNames(rep *Report, dns, email []string) {
	rep.addShown("dns_names", "DNS name", nonNil(dns), safeLines(dns, "none")...)
	rep.addShown("emails", "e-mail", nonNil(email), safeLines(email, "none")...)
}

// safeLines is safeText of each name, or the one line none if there are
// no names.
func safeLines(names []string, none string) []string {
	if len(names) == 0 {
		return []string{none}
	}
	lines := make([]string, len(names))
	for i, n := range names {
		lines[i] = safeText(n)
	}
	return lines
}

// nonNil makes a missing list an empty one, so that the JSON form says [].
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// safeText is s, or s quoted if it holds a character that is not
// printable or a quote mark.
func safeText(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) || r == '"' {
			return strconv.Quote(s)
		}
	}
	return s
}

// extKeyUsageNames are the names of the extended key usages, in the JSON
// form; any other is "other".
var extKeyUsageNames = []struct {
	usage x509.ExtKeyUsage
	name  string
}{
	{x509.ExtKeyUsageServerAuth, "server_auth"},
	{x509.ExtKeyUsageClientAuth, "client_auth"},
	{x509.ExtKeyUsageEmailProtection, "email_protection"},
	{x509.ExtKeyUsageCodeSigning, "code_signing"},
	{x509.ExtKeyUsageTimeStamping, "time_stamping"},
	{x509.ExtKeyUsageOCSPSigning, "ocsp_signing"},
	{x509.ExtKeyUsageAny, "any"},
}

// usageName is the name of an extended key usage.
func usageName(u x509.ExtKeyUsage) string {
	for _, n := range extKeyUsageNames {
		if n.usage == u {
			return n.name
		}
	}
	return "other"
}

// usageNames lists the names of extended key usages, for the help.
func usageNames() string {
	names := make([]string, 0, len(extKeyUsageNames)+1)
	for _, n := range extKeyUsageNames {
		names = append(names, n.name)
	}
	return strings.Join(append(names, "other"), ", ")
}

// extKeyUsages names a certificate's extended key usages; null if it has
// none (which allows every usage).
func extKeyUsages(us []x509.ExtKeyUsage) any {
	if len(us) == 0 {
		return nil
	}
	names := make([]string, len(us))
	for i, u := range us {
		names[i] = usageName(u)
	}
	return names
}

// usageText is the text form of extended key usages.
func usageText(us []x509.ExtKeyUsage) string {
	names, ok := extKeyUsages(us).([]string)
	if !ok {
		return "any use (no extended key usage)"
	}
	return strings.ReplaceAll(strings.Join(names, ", "), "_", " ")
}

// certSHA256 is the SHA-256 of a certificate's DER, in hex, as keyblob ca
// list prints it.
func certSHA256(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}
