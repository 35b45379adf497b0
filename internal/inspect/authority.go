package inspect

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority/api"
	"github.com/keyblob/keyblob/keystore"
)

// The client's files about backup authorities: a stored authority
// (authorities/NAME.auth) and a kept receipt
// ($KEYBLOB_HOME/receipts/AUTHORITY/NAME.json).

func describeAuthority(rep *Report, in *input) error {
	return in.text(rep, func(rep *Report, data []byte) error {
		a, err := keystore.ParseAuthorityFile(data)
		if err != nil {
			return err
		}
		rep.setType("stored_authority")
		rep.add("url", "URL", a.URL)
		rep.add("insecure_http", "plain http", a.InsecureHTTP)
		rep.addShown("ca_count", "TLS CAs", len(a.CAs), strconv.Itoa(len(a.CAs)))
		describeKeys(rep, a.Recipient)
		return nil
	})
}

// receiptFile is the file a client keeps a receipt in (cmd/keyblob
// keepReceipt writes it).
type receiptFile struct {
	Authority   string        `json:"authority"`
	Fingerprint string        `json:"authority_fingerprint"`
	Receipt     api.ReceiptV1 `json:"receipt"`
}

// isReceipt reports whether head starts like a kept receipt.
func isReceipt(head []byte) bool {
	t := bytes.TrimSpace(head)
	return bytes.HasPrefix(t, []byte("{")) && bytes.Contains(t, []byte(`"authority_fingerprint"`))
}

func describeReceipt(rep *Report, in *input) error {
	return in.text(rep, func(rep *Report, data []byte) error {
		var f receiptFile
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			return err
		}
		r, err := f.Receipt.Parse()
		if err != nil {
			return err
		}
		rep.setType("receipt")
		rep.add("authority", "authority", f.Authority)
		fp, err := keyblob.ParseFingerprint(f.Fingerprint)
		if err != nil {
			return err
		}
		rep.add("authority_fingerprint", "authority key", fp)
		rep.add("seq", "log entry", r.Entry.Seq)
		rep.add("kind", "kind", r.Entry.Kind.String())
		rep.add("time", "time", r.Entry.Time)
		rep.add("owner", "owner", r.Entry.Owner)
		return nil
	})
}
