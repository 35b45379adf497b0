package inspect

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority/api"
)

// authorityFixtures are a stored authority's file and a kept receipt, as
// the key store and escrow deposit write them.
func authorityFixtures(t testing.TB) []fixture {
	id, err := keyblob.GenerateIdentity(keyblob.KindX25519)
	check(t, err)
	auth := []byte("https://backup.example.com:8443\n" + id.Recipient().String() + "\n")
	e := api.AuditEntry{Seq: 7, Time: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Kind: api.AuditDeposit,
		Owner: id.Recipient().Fingerprint(), Detail: "{}"}
	rc, err := api.SignReceipt(id, e, nil, nil)
	check(t, err)
	data, err := json.MarshalIndent(receiptFile{Authority: "https://backup.example.com:8443", Fingerprint: id.Recipient().Fingerprint().String(), Receipt: rc.V1()}, "", "  ")
	check(t, err)
	return []fixture{
		{"backup.auth", auth, "stored authority", Line, "stored_authority", ""},
		{"deposit.json", append(data, '\n'), "authority receipt", Line, "receipt", ""},
	}
}
