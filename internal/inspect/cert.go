package inspect

import (
	"strconv"
	"strings"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/cert"
)

// Certificates and requests (spec/cert.md): subject, names, issuer,
// validity and the recipient the extension carries.

func describeCertificate(rep *Report, in *input) error {
	return in.text(rep, func(rep *Report, data []byte) error {
		chain, err := cert.ParseChain(data)
		if err != nil {
			return err
		}
		rep.setType("certificate")
		leaf := chain[0]
		rep.add("subject", "subject", leaf.Subject.String())
		rep.add("issuer", "issuer", leaf.Issuer.String())
		describeNames(rep, leaf.DNSNames, leaf.EmailAddresses)
		rep.add("not_before", "valid from", leaf.NotBefore)
		rep.add("not_after", "valid until", leaf.NotAfter)
		rep.add("is_ca", "CA", leaf.IsCA)
		rep.addShown("chain_length", "chain", len(chain), strconv.Itoa(len(chain))+" certificate(s)")
		r, err := cert.Recipient(leaf)
		describeCertified(rep, r, err)
		return nil
	})
}

func describeRequest(rep *Report, in *input) error {
	return in.text(rep, func(rep *Report, data []byte) error {
		req, err := cert.ParseRequest(data)
		if err != nil {
			return err
		}
		rep.setType("certificate_request")
		rep.add("subject", "subject", req.Subject.String())
		describeNames(rep, req.DNSNames, req.EmailAddresses)
		r, err := cert.RequestRecipient(req)
		describeCertified(rep, r, err)
		return nil
	})
}

func describeNames(rep *Report, dns, email []string) {
	names := append(append([]string(nil), dns...), email...)
	rep.addJSON("names", names)
	rep.addText("names", strings.Join(names, ", "))
}

// describeCertified adds the recipient the extension carries, or why
// there is none (a certificate of another program).
func describeCertified(rep *Report, r *keyblob.Recipient, err error) {
	if err != nil {
		rep.addShown("recipient", "recipient", nil, "none: "+err.Error())
		return
	}
	describeKeys(rep, r)
}
