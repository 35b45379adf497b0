package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/format"
	"github.com/keyblob/keyblob/internal/stream"
	"github.com/keyblob/keyblob/seal"
)

func newInspectCmd(e *env) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "inspect [--json] [FILE]",
		Short: "Say what a keyblob file is, without any secret key",
		Long: `inspect reads FILE (stdin if not given or -) and says what it is: an
identity, a recipient or public key, a session key (its serial, never the
key), a key blob (algorithms, recipient and signer fingerprints, serial,
description) or an encrypted file (serial and sizes). No secret key is
needed. --json prints the same as one JSON object.`,
		Args: argsAtMost(1),
		RunE: func(c *cobra.Command, args []string) error {
			rep, err := e.inspect(firstArg(args))
			if err != nil {
				return err
			}
			if asJSON {
				return rep.writeJSON(e.stdout)
			}
			return rep.writeText(e.stdout)
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

// report is an ordered list of facts about a file.
type report struct{ fields []field }

type field struct {
	key, label string
	value      any
}

func (r *report) add(key, label string, value any) {
	r.fields = append(r.fields, field{key, label, value})
}

func (r *report) writeText(w io.Writer) error {
	var buf bytes.Buffer
	for _, f := range r.fields {
		v := jsonValue(f.value)
		if s, ok := v.(string); ok && f.key == "description" {
			v = fmt.Sprintf("%q", s)
		}
		if list, ok := v.([]string); ok {
			for _, item := range list {
				fmt.Fprintf(&buf, "%-16s%s\n", f.label+":", item)
			}
			continue
		}
		fmt.Fprintf(&buf, "%-16s%v\n", f.label+":", v)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func (r *report) writeJSON(w io.Writer) error {
	var buf bytes.Buffer
	buf.WriteString("{")
	for i, f := range r.fields {
		k, _ := json.Marshal(f.key)
		v, err := json.Marshal(jsonValue(f.value))
		if err != nil {
			return err
		}
		if i > 0 {
			buf.WriteString(",")
		}
		fmt.Fprintf(&buf, "\n  %s: %s", k, v)
	}
	buf.WriteString("\n}\n")
	_, err := w.Write(buf.Bytes())
	return err
}

// jsonValue turns report values into JSON-friendly ones.
func jsonValue(v any) any {
	// time.Time is a fmt.Stringer too: its case must come first.
	switch v := v.(type) {
	case time.Time:
		return v.Format(time.RFC3339)
	case fmt.Stringer:
		return v.String()
	}
	return v
}

// inspectHead is how much of a file inspect reads to classify it.
const inspectHead = 64 << 10

func (e *env) inspect(name string) (*report, error) {
	in, err := e.openInput(name)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	head, err := io.ReadAll(io.LimitReader(in, inspectHead))
	if err != nil {
		return nil, err
	}
	rep := &report{}
	if t, ok := format.Sniff(head); ok {
		return rep, e.inspectBinary(rep, t, head, in)
	}
	if format.IsArmored(head) {
		return rep, inspectArmored(rep, head, in)
	}
	if bytes.Contains(head, []byte("\n-----BEGIN ")) {
		return rep, inspectPEM(rep, head)
	}
	if bytes.HasPrefix(bytes.TrimSpace(skipComments(head)), []byte(keyblob.RecipientPrefix)) {
		return rep, inspectRecipients(rep, head)
	}
	return nil, withHint(errors.New("not a keyblob file"),
		"inspect knows identities, recipients, public keys, session keys, key blobs and encrypted files")
}

// inspectArmored describes a file that is armored by the rule of
// format.IsArmored: the objects that may be large through the streaming
// armor reader, the others by their PEM label.
func inspectArmored(rep *report, head []byte, rest io.Reader) error {
	whole := io.MultiReader(bytes.NewReader(head), rest)
	switch label, _ := format.ArmorLabel(head); label {
	case format.PEMSealed:
		return describeSealed(rep, seal.NewArmorReader(whole), "PEM")
	case format.PEMEncrypted:
		r := format.NewArmorReader(whole, format.PEMEncrypted)
		bin, err := io.ReadAll(io.LimitReader(r, int64(keyblob.EncryptedHeaderSize)))
		if err != nil {
			return err
		}
		return describeEncrypted(rep, bin, r, "PEM")
	}
	return inspectPEM(rep, head)
}

// skipComments drops leading blank and '#' lines.
func skipComments(data []byte) []byte {
	for len(data) > 0 {
		line, rest, _ := bytes.Cut(data, []byte("\n"))
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			return data
		}
		data = rest
	}
	return data
}

func (e *env) inspectBinary(rep *report, t byte, head []byte, rest io.Reader) error {
	switch t {
	case format.TypeBlob:
		return describeBlob(rep, head, "binary")
	case format.TypeSessionKey:
		return describeSessionKey(rep, head)
	case format.TypeEncrypted:
		return describeEncrypted(rep, head, rest, "binary")
	case format.TypeSealed:
		return describeSealed(rep, io.MultiReader(bytes.NewReader(head), rest), "binary")
	}
	return fmt.Errorf("a %s, which this version of keyblob cannot describe", format.TypeName(t))
}

var pemLabel = regexp.MustCompile(`(?m)^-----BEGIN ([A-Z0-9 ]+)-----`)

func inspectPEM(rep *report, data []byte) error {
	m := pemLabel.FindSubmatch(data)
	if m == nil {
		return errors.New("malformed PEM")
	}
	switch label := string(m[1]); label {
	case format.PEMBlob:
		return describeBlob(rep, data, "PEM")
	case format.PEMSessionKey:
		return describeSessionKey(rep, data)
	case format.PEMPrivateKey:
		return describeIdentity(rep, data)
	case format.PEMPublicKey:
		return inspectRecipients(rep, data)
	case "ENCRYPTED PRIVATE KEY":
		return withHint(errors.New("an encrypted PKCS#8 private key, which keyblob does not read"),
			"decrypt it with 'openssl pkey -in FILE -out PLAIN' to use it as an identity")
	default:
		return fmt.Errorf("a PEM file of type %q, which keyblob does not use", label)
	}
}

func describeBlob(rep *report, data []byte, encoding string) error {
	b, err := keyblob.ParseKeyBlob(data)
	if err != nil {
		return err
	}
	rep.add("type", "type", "key blob")
	rep.add("encoding", "encoding", encoding)
	rep.add("exchange", "wrapped with", b.ExchangeAlg())
	rep.add("post_quantum", "post-quantum", b.ExchangeAlg().PostQuantum())
	rep.add("recipient", "wrapped to", b.Recipient())
	rep.add("session_alg", "session key", b.SessionAlg())
	rep.add("serial", "serial", b.Serial())
	rep.add("created", "created", b.Created())
	rep.add("description", "description", b.Description())
	rep.add("signed", "signed", b.Signed())
	if b.Signed() {
		rep.add("signature_alg", "signature", b.SignatureAlg())
		rep.add("signer", "signed by", b.Signer())
		rep.add("signature_valid", "signature valid", b.Verify(b.SignerKey()) == nil)
		rep.add("signature_checked", "checked", "against the key the blob carries; 'import --verify SIGNER' checks whose key it is")
	}
	return nil
}

func describeSessionKey(rep *report, data []byte) error {
	k, err := keyblob.ParseSessionKey(data)
	if err != nil {
		return err
	}
	rep.add("type", "type", "session key")
	rep.add("session_alg", "algorithm", k.Alg())
	rep.add("serial", "serial", k.Serial())
	rep.add("origin", "origin", map[keyblob.Origin]string{keyblob.OriginRandom: "random", keyblob.OriginDerived: "password-derived"}[k.Origin()])
	return nil
}

func describeEncrypted(rep *report, head []byte, rest io.Reader, encoding string) error {
	h, err := keyblob.ParseEncryptedHeader(head)
	if err != nil {
		return err
	}
	size, err := totalSize(head, rest)
	if err != nil {
		return err
	}
	rep.add("type", "type", "encrypted file")
	rep.add("encoding", "encoding", encoding)
	rep.add("session_alg", "algorithm", h.SessionAlg)
	rep.add("serial", "session key", h.Serial)
	rep.add("size", "size", size)
	plain, err := stream.PlaintextSize(size - int64(keyblob.EncryptedHeaderSize))
	if err != nil {
		rep.add("plaintext_size", "plaintext size", "invalid: the file is truncated or extended")
		return nil
	}
	rep.add("plaintext_size", "plaintext size", plain)
	return nil
}

// totalSize returns the size of the whole input: the head already read
// plus the rest, which is stat'ed for a regular file and read otherwise.
func totalSize(head []byte, rest io.Reader) (int64, error) {
	if f, ok := rest.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			return st.Size(), nil
		}
	}
	n, err := io.Copy(io.Discard, rest)
	return int64(len(head)) + n, err
}

func describeIdentity(rep *report, data []byte) error {
	id, err := keyblob.ParseIdentity(data)
	if err != nil {
		return withHint(err, "%s", identityHint(data))
	}
	rep.add("type", "type", "identity (private keys)")
	describeKeys(rep, id.Recipient())
	return nil
}

func inspectRecipients(rep *report, data []byte) error {
	rs, err := keyblob.ParseRecipients(data)
	if err != nil {
		return err
	}
	if len(rs) != 1 {
		return fmt.Errorf("a recipients file with %d recipients; inspect describes one", len(rs))
	}
	rep.add("type", "type", "recipient (public keys)")
	describeKeys(rep, rs[0])
	return nil
}

func describeKeys(rep *report, r *keyblob.Recipient) {
	rep.add("kind", "kind", r.Kind())
	rep.add("fingerprint", "fingerprint", r.Fingerprint())
	rep.add("exchange", "exchange", r.ExchangeAlg())
	if r.CanExchange() {
		rep.add("exchange_fingerprint", "exchange key", r.ExchangeFingerprint())
	}
	rep.add("post_quantum", "post-quantum", r.ExchangeAlg().PostQuantum())
	rep.add("signature", "signature", r.SignatureAlg())
	if r.CanVerify() {
		rep.add("signing_fingerprint", "signing key", r.SigningFingerprint())
	}
}

// describeSealed reads a sealed message's header and counts the rest.
func describeSealed(rep *report, r io.Reader, encoding string) error {
	h, err := seal.ReadHeader(r)
	if err != nil {
		return err
	}
	rest, err := io.Copy(io.Discard, r)
	if err != nil {
		return err
	}
	rep.add("type", "type", "sealed message")
	rep.add("encoding", "encoding", encoding)
	rep.add("created", "created", h.Created())
	rep.add("expires", "expires", expiry(h.Expires()))
	rep.add("serial", "serial", h.Serial())
	describeStanzas(rep, h)
	rep.add("signed", "signed", h.Signed())
	if h.Signed() {
		rep.add("signature_alg", "signature", h.Signer().SignatureAlg())
		rep.add("signer", "signed by", h.Signer().SigningFingerprint())
		rep.add("signature_checked", "checked", "no: inspect has no keys; 'open --from SENDER' checks it")
	}
	describeSealedSizes(rep, h, rest)
	return nil
}

func expiry(t time.Time) any {
	if t.IsZero() {
		return "never"
	}
	return t
}

// describeStanzas lists the recipients and whether all are post-quantum.
func describeStanzas(rep *report, h *seal.Header) {
	if h.Passphrase() {
		rep.add("passphrase", "recipient", "passphrase (Argon2id)")
		rep.add("post_quantum", "post-quantum", false)
		return
	}
	var list []string
	pq := true
	for _, s := range h.Stanzas() {
		b := s.Blob()
		if b == nil {
			list = append(list, fmt.Sprintf("unknown stanza type 0x%02x", s.Type()))
			continue
		}
		list = append(list, fmt.Sprintf("%s (%s)", b.Recipient(), b.ExchangeAlg()))
		pq = pq && b.ExchangeAlg().PostQuantum()
	}
	rep.add("recipients", "recipient", list)
	rep.add("post_quantum", "post-quantum", pq)
}

// describeSealedSizes reports the sizes that follow from the rest of the
// message after the header: the payload, and the plaintext it holds.
func describeSealedSizes(rep *report, h *seal.Header, rest int64) {
	rep.add("header_size", "header size", h.Size())
	payload := rest - int64(h.SignatureSize())
	rep.add("payload_size", "payload size", payload)
	plain, err := stream.PlaintextSize(payload)
	if err != nil {
		rep.add("plaintext_size", "plaintext size", "invalid: the message is truncated or extended")
		return
	}
	rep.add("plaintext_size", "plaintext size", plain)
}
