package inspect

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/password"
)

// A Report is what Inspect says about a file: an ordered list of facts,
// printed as labelled lines of text or as one JSON object for programs.
// A fact may be in both forms, or only in one: the JSON form holds no
// prose and spells absent values null, the text form explains.
//
// A Report is made by Inspect; it is not safe for concurrent use while
// it is made, and safe to print from several goroutines after.
type Report struct{ fields object }

// An object is an ordered JSON object: its keys are printed in order.
type object []field

// A field is one fact. key is its JSON name ("" for a text-only line),
// label its text label ("" for a JSON-only value). value is the JSON
// value: nil for null, a string, bool, integer, time.Time (RFC 3339 UTC),
// fmt.Stringer, object or slice. text, if set, is what the text form
// prints instead of value, one line each; a nil value without text is not
// printed as text.
type field struct {
	key, label string
	value      any
	text       []string
}

// add records a fact in both forms.
func (r *Report) add(key, label string, value any) {
	r.fields = append(r.fields, field{key: key, label: label, value: value})
}

// addText records a line of the text form only.
func (r *Report) addText(label string, lines ...string) {
	r.fields = append(r.fields, field{label: label, text: lines})
}

// addJSON records a value of the JSON form only.
func (r *Report) addJSON(key string, value any) {
	r.fields = append(r.fields, field{key: key, value: value})
}

// addShown records a fact whose text form is text.
func (r *Report) addShown(key, label string, value any, text ...string) {
	r.fields = append(r.fields, field{key: key, label: label, value: value, text: text})
}

// reportTypes are the types of report Inspect makes: the name of each in the
// "type" member of the JSON form, its label in the text form, and the
// members that follow "type", in order. The help of inspect is made from
// this table, and a test checks every report against it.
var reportTypes = []struct {
	name, label string
	members     []string
}{
	{"identity", "identity (private keys)", []string{"recipient"}},
	{"recipient", "recipient (public keys)", []string{"recipient"}},
	{"recipients", "recipients file", []string{"recipients"}},
	{"session_key", "session key", []string{"session_alg", "serial", "origin", "params"}},
	{"key_blob", "key blob", []string{"encoding", "recipient", "session_alg", "serial", "created",
		"description", "signed", "signer", "signature_valid"}},
	{"encrypted_file", "encrypted file", []string{"encoding", "session_alg", "serial", "size",
		"plaintext_size", "size_valid"}},
	{"sealed_message", "sealed message", []string{"encoding", "created", "expires", "serial",
		"passphrase", "recipients", "unknown_stanzas", "post_quantum", "signed", "signer",
		"header_size", "payload_size", "plaintext_size", "size_valid"}},
	{"stored_identity", "stored identity (encrypted private keys)", []string{"encoding", "name",
		"recipient", "generations", "params"}},
	{"generation_record", "generation record of a stored identity", []string{"name", "fingerprints"}},
	{"derive_parameters", "session derive parameters (not secret)", []string{"params"}},
	{"stored_authority", "stored backup authority (spec/keystore.md 5.1)", []string{"url", "insecure_http", "ca_count", "recipient"}},
	{"receipt", "backup authority receipt (spec/escrow-api.md 6.5)", []string{"authority", "authority_fingerprint", "seq", "kind", "time", "owner"}},
	{"certificate", "X.509 certificate", []string{"encoding", "subject", "dns_names", "emails",
		"issuer", "serial", "not_before", "not_after", "is_ca", "ext_key_usage", "public_key_alg",
		"sha256", "recipient", "recipient_valid", "chain"}},
	{"certificate_request", "X.509 certificate request (PKCS #10)", []string{"encoding", "subject",
		"dns_names", "emails", "public_key_alg", "recipient", "recipient_valid"}},
}

// setType records the type of the file, which comes first.
func (r *Report) setType(t string) {
	for _, ft := range reportTypes {
		if ft.name == t {
			r.addShown("type", "type", t, ft.label)
			return
		}
	}
	panic("inspect: unknown report type " + t)
}

// SchemaHelp documents the JSON form of reports (for the help of the
// command), from reportTypes and the objects themselves.
func SchemaHelp() string {
	var b strings.Builder
	names := make([]string, len(reportTypes))
	for i, ft := range reportTypes {
		names[i] = ft.name
	}
	fmt.Fprintf(&b, "  %-19s %s\n", "type", wrap(strings.Join(names, " ")+"; then, by type:", 54, 22))
	for _, ft := range reportTypes {
		fmt.Fprintf(&b, "  %-19s %s\n", ft.name, wrap(strings.Join(ft.members, " "), 54, 22))
	}
	notes := fmt.Sprintf(`Keys (recipient, recipients, signer, and the recipient of each
generation) are {%s}; a generation is {%s}; params are {%s}. origin is
random or derived; encoding is binary or PEM; times are RFC 3339 in UTC;
sizes are numbers of bytes; serials and salts are hex; fingerprints are
"SHA256:" and base64; description is the blob's text, unchanged;
signature_valid says whether a blob's signature verifies with the key the
blob carries; passphrase says whether a message is sealed to a passphrase (its
post_quantum is then null: there is no key exchange);
unknown_stanzas lists the types of the stanzas this keyblob does not know;
a generation record's fingerprints are listed oldest first, as are a stored
identity's generations, the last being the current one, which recipient
is. A certificate's recipient is the one its keyblob recipient extension
carries, recipient_valid false if the extension is refused (recipient is
then null) and null if there is none; its chain lists every certificate of
the file, leaf first, each {%s}; sha256 is the hex SHA-256 of a
certificate's DER, as 'keyblob ca list' prints it; ext_key_usage lists
%s, or is null (any use); is_ca is true for a CA certificate. Nothing of a
certificate is verified: the commands that trust a CA do that.`, memberNames(keyFacts{}.object()), memberNames(generationObject(time.Time{}, nil)), memberNames(paramsObject(password.Params{})),
		memberNames(chainObject(&x509.Certificate{})), usageNames())
	b.WriteString(wrap(notes, 76, 0))
	return b.String()
}

// memberNames lists the JSON names of an object, for the help.
func memberNames(o object) string {
	var names []string
	for _, f := range o {
		names = append(names, f.key)
	}
	return strings.Join(names, ", ")
}

// wrap breaks text into lines of at most width bytes, indenting every
// line after the first by indent spaces.
func wrap(text string, width, indent int) string {
	var b strings.Builder
	n := 0
	for i, word := range strings.Fields(text) {
		switch {
		case i == 0:
		case n+1+len(word) > width:
			b.WriteString("\n" + strings.Repeat(" ", indent))
			n = 0
		default:
			b.WriteByte(' ')
			n++
		}
		b.WriteString(word)
		n += len(word)
	}
	return b.String()
}

// WriteText writes the text form of r to w: one labelled line for each
// fact, in order. It returns w's error.
func (r *Report) WriteText(w io.Writer) error {
	var buf bytes.Buffer
	for _, f := range r.fields {
		if f.label == "" {
			continue
		}
		lines := f.text
		if lines == nil && f.value != nil {
			lines = []string{textOf(f.value)}
		}
		for _, line := range lines {
			fmt.Fprintf(&buf, "%-17s%s\n", f.label+":", line)
		}
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// textOf prints a single value in the text form.
func textOf(v any) string {
	return fmt.Sprint(JSONValue(v))
}

// WriteJSON writes the JSON form of r to w: one indented object, its
// members in the order SchemaHelp documents. It returns w's error.
func (r *Report) WriteJSON(w io.Writer) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r.fields); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// MarshalJSON encodes the fields that have a JSON name, in order.
func (o object) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	n := 0
	for _, f := range o {
		if f.key == "" {
			continue
		}
		v, err := marshalValue(f.value)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			buf.WriteByte(',')
		}
		n++
		buf.WriteString(strconv.Quote(f.key)) // keys are ASCII snake_case
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func marshalValue(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(JSONValue(v)); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// JSONValue turns a value of a report (or of the CLI's tables) into one
// encoding/json prints as keyblob does: a time in RFC 3339 UTC, a name
// (algorithm, serial, fingerprint) by its String method; other values are
// returned as they are.
func JSONValue(v any) any {
	// time.Time is a fmt.Stringer too: its case must come first.
	switch v := v.(type) {
	case time.Time:
		return v.UTC().Format(time.RFC3339)
	case object, []object:
		return v
	case fmt.Stringer:
		return v.String()
	}
	return v
}

// keyFacts are what a file says about someone's public keys: all of a
// recipient's, or only the exchange key a key blob is wrapped to. Zero
// values are absent.
type keyFacts struct {
	kind       string
	exchange   keyblob.ExchangeAlg
	exchangeFP keyblob.Fingerprint
	signature  keyblob.SignatureAlg
	signingFP  keyblob.Fingerprint
}

func factsOf(r *keyblob.Recipient) keyFacts {
	return keyFacts{kind: r.Kind(), exchange: r.ExchangeAlg(), exchangeFP: r.ExchangeFingerprint(),
		signature: r.SignatureAlg(), signingFP: r.SigningFingerprint()}
}

// fingerprint is the one that stands for the keys: the exchange key's, or
// the signature key's if there is no exchange key (spec/blob.md 5).
func (k keyFacts) fingerprint() keyblob.Fingerprint {
	if !k.exchangeFP.IsZero() {
		return k.exchangeFP
	}
	return k.signingFP
}

// object is the JSON form of keys, the same wherever keys are described:
// every member is present, null when the file does not say.
func (k keyFacts) object() object {
	return object{
		{key: "kind", value: orNull(k.kind, k.kind != "")},
		{key: "fingerprint", value: orNull(k.fingerprint(), !k.fingerprint().IsZero())},
		{key: "exchange_alg", value: orNull(k.exchange, k.exchange != keyblob.ExchangeNone)},
		{key: "exchange_fingerprint", value: orNull(k.exchangeFP, !k.exchangeFP.IsZero())},
		{key: "signature_alg", value: orNull(k.signature, k.signature != keyblob.SignatureNone)},
		{key: "signing_fingerprint", value: orNull(k.signingFP, !k.signingFP.IsZero())},
		{key: "post_quantum", value: k.exchange.PostQuantum()},
	}
}

// orNull is v if present, else nil (JSON null).
func orNull(v any, present bool) any {
	if !present {
		return nil
	}
	return v
}

// paramsObject is the JSON form of Argon2id parameters.
func paramsObject(p password.Params) object {
	return object{
		{key: "time", value: p.Time},
		{key: "memory_kib", value: p.MemoryKiB},
		{key: "threads", value: p.Threads},
		{key: "salt", value: fmt.Sprintf("%x", p.Salt)},
	}
}
