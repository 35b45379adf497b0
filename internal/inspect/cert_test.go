package inspect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/cert"
)

// TestCertificateReport checks what inspect says of a chain that
// keyblob's CA issued: the leaf's names, issuer and validity, the
// recipient of its extension (the identity's fingerprints), and the CA
// after it.
func TestCertificateReport(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	caID, db := newID(t, keyblob.KindX25519), newID(t, keyblob.KindHybrid)
	caDER, err := cert.NewCA(caID, "Example CA", 24*time.Hour, now)
	check(t, err)
	ca, err := cert.ParseChain(caDER)
	check(t, err)
	reqDER, err := cert.Request(db, cert.Names{DNS: []string{"db.example.com"}})
	check(t, err)
	req, err := cert.ParseRequest(reqDER)
	check(t, err)
	leaf, err := cert.Issue(ca[0], caID, req, time.Hour, now)
	check(t, err)
	chain := append(cert.EncodePEM(cert.PEMCertificate, leaf), cert.EncodePEM(cert.PEMCertificate, caDER)...)

	got := inspectJSON(t, chain)
	want := map[string]any{
		"type":            "certificate",
		"subject":         "CN=db.example.com",
		"issuer":          "CN=Example CA",
		"dns_names":       []any{"db.example.com"},
		"emails":          []any{},
		"not_after":       now.Add(time.Hour).UTC().Format(time.RFC3339),
		"is_ca":           false,
		"ext_key_usage":   []any{"server_auth", "client_auth"},
		"public_key_alg":  "Ed25519",
		"recipient_valid": true,
	}
	checkMembers(t, "chain", got, want)
	checkRecipient(t, "chain", got["recipient"], db.Recipient())
	links, _ := got["chain"].([]any)
	if len(links) != 2 {
		t.Fatalf("chain: %d certificates listed, want 2", len(links))
	}
	checkMembers(t, "chain[1]", links[1].(map[string]any), map[string]any{"subject": "CN=Example CA", "is_ca": true})

	caRep := inspectJSON(t, cert.EncodePEM(cert.PEMCertificate, caDER))
	checkMembers(t, "ca", caRep, map[string]any{"is_ca": true, "issuer": "CN=Example CA", "ext_key_usage": nil})
	checkRecipient(t, "ca", caRep["recipient"], caID.Recipient())
}

// TestRequestReport checks what inspect says of keyblob's request for an
// e-mail address.
func TestRequestReport(t *testing.T) {
	alice := newID(t, keyblob.KindX25519)
	der, err := cert.Request(alice, cert.Names{Email: []string{"alice@example.com"}})
	check(t, err)
	got := inspectJSON(t, cert.EncodePEM(cert.PEMRequest, der))
	checkMembers(t, "request", got, map[string]any{
		"type": "certificate_request", "subject": "CN=alice@example.com", "emails": []any{"alice@example.com"},
		"dns_names": []any{}, "recipient_valid": true,
	})
	checkRecipient(t, "request", got["recipient"], alice.Recipient())
}

// TestCertificateRefusedExtension checks the certificates whose recipient
// is not reported: none without the extension, none and not valid with
// one that certifies another key; and that a name from the file cannot
// make a line of the text form.
func TestCertificateRefusedExtension(t *testing.T) {
	tests := []struct {
		name  string
		der   []byte
		valid any
		text  string
	}{
		{"plain", plainCertificate(t, nil), nil, textLine("recipient", "none (no keyblob recipient extension)")},
		{"mismatch", plainCertificate(t, newID(t, keyblob.KindX25519)), false, textLine("recipient", "invalid: "+cert.ErrKeyMismatch.Error())},
	}
	for _, tt := range tests {
		data := cert.EncodePEM(cert.PEMCertificate, tt.der)
		got := inspectJSON(t, data)
		checkMembers(t, tt.name, got, map[string]any{"recipient": nil, "recipient_valid": tt.valid})
		text := inspectText(t, data)
		if !strings.Contains(text, "\n"+tt.text) {
			t.Errorf("%s: the text form has no line %q:\n%s", tt.name, tt.text, text)
		}
		if strings.Contains(text, "\nsubject: forged") || !strings.Contains(text, textLine("subject", `"CN=plain\nsubject: forged"`)) {
			t.Errorf("%s: the subject is not quoted:\n%s", tt.name, text)
		}
	}
}

// textLine is a line of the text form.
func textLine(label, value string) string {
	return fmt.Sprintf("%-17s%s\n", label+":", value)
}

func newID(t *testing.T, kind string) *keyblob.Identity {
	id, err := keyblob.GenerateIdentity(kind)
	check(t, err)
	return id
}

// inspectJSON is the JSON form of the report of data, decoded.
func inspectJSON(t *testing.T, data []byte) map[string]any {
	t.Helper()
	rep, err := Inspect(bytes.NewReader(data), -1)
	check(t, err)
	var out bytes.Buffer
	check(t, rep.WriteJSON(&out))
	var m map[string]any
	check(t, json.Unmarshal(out.Bytes(), &m))
	return m
}

// inspectText is the text form of the report of data.
func inspectText(t *testing.T, data []byte) string {
	t.Helper()
	rep, err := Inspect(bytes.NewReader(data), -1)
	check(t, err)
	var out bytes.Buffer
	check(t, rep.WriteText(&out))
	return out.String()
}

// checkMembers checks members of a JSON object, compared as JSON.
func checkMembers(t *testing.T, name string, got, want map[string]any) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		gj, _ := json.Marshal(g)
		wj, _ := json.Marshal(w)
		if !ok || !bytes.Equal(gj, wj) {
			t.Errorf("%s: %s = %s (present %v), want %s", name, k, gj, ok, wj)
		}
	}
}

// checkRecipient checks a JSON recipient object against r's fingerprints.
func checkRecipient(t *testing.T, name string, got any, r *keyblob.Recipient) {
	t.Helper()
	m, ok := got.(map[string]any)
	if !ok {
		t.Fatalf("%s: recipient %v, want an object", name, got)
	}
	checkMembers(t, name+" recipient", m, map[string]any{
		"kind":                 r.Kind(),
		"fingerprint":          r.Fingerprint().String(),
		"exchange_fingerprint": r.ExchangeFingerprint().String(),
		"signing_fingerprint":  r.SigningFingerprint().String(),
	})
}

// TestCertificateVectors checks what inspect says of the refused
// certificates of spec/cert.md's vectors: no recipient without the
// extension, an invalid one when it certifies another key.
func TestCertificateVectors(t *testing.T) {
	tests := []struct {
		file  string
		valid any
	}{
		{"no-extension.pem", nil},
		{"key-mismatch.pem", false},
		{"server-hybrid.pem", true},
	}
	for _, tt := range tests {
		got := inspectJSON(t, readFile(t, "../../testdata/cert/"+tt.file))
		checkMembers(t, tt.file, got, map[string]any{"recipient_valid": tt.valid, "dns_names": []any{"db.example.com"}})
		if (got["recipient"] != nil) != (tt.valid == true) {
			t.Errorf("%s: recipient %v with recipient_valid %v", tt.file, got["recipient"], tt.valid)
		}
	}
}
