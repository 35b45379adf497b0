package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/format"
	"github.com/keyblob/keyblob/internal/stream"
	"github.com/keyblob/keyblob/keystore"
	"github.com/keyblob/keyblob/seal"
)

func newInspectCmd(e *env) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "inspect [--json] [FILE]",
		Short: "Say what a keyblob file is, without any passphrase or secret key",
		Long: `inspect reads FILE (stdin if not given or -) and says what it is, without
any passphrase or secret key: an identity or a recipient (kind, algorithms,
fingerprints), a session key (its serial, never the key), a key blob, an
encrypted file, a sealed message, one of the key store's files (a stored
identity NAME.id, read without unlocking it; its generation record
NAME.gens; a contact NAME.rcpt, which is a recipient line; a stored key
NAME.blob, which is a key blob), or the FILE.params that 'session derive
-o FILE' writes. inspect uses no key: who signed a blob or a message, and
the public part of a stored identity, are checked by the commands that use
them ('import --verify', 'open --from', unlocking the identity).

--json prints one JSON object, for programs. Its members are always
present, in this order, null when the file has no such value:
` + inspectSchemaHelp(),
		Args: argsAtMost(1),
		RunE: func(c *cobra.Command, args []string) error {
			rep, err := e.inspect(firstArg(args))
			if err != nil {
				return inspectError(err)
			}
			if asJSON {
				return rep.writeJSON(e.stdout)
			}
			return rep.writeText(e.stdout)
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print one JSON object (see the fields above)")
	return c
}

// inspectHead is how much of a file inspect reads to classify it.
const inspectHead = 64 << 10

// maxInspectText bounds the text files inspect reads whole (keys,
// recipient files, the key store's entries, parameters): the key store's
// bound on an entry (spec/keystore.md 3.5), with room for its armor.
const maxInspectText = 2 << 20

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
	if label, ok := format.ArmorLabel(head); ok && (label == format.PEMSealed || label == format.PEMEncrypted) {
		return rep, inspectArmored(rep, label, head, in)
	}
	describe := textDescriber(head)
	if describe == nil {
		return nil, withHint(errors.New("not a keyblob file"), "%s", inspectKnows)
	}
	data, err := readRest(head, in)
	if err != nil {
		return nil, err
	}
	return rep, describe(rep, data)
}

// inspectError gives a file that is damaged a hint of its own: the hint
// table's for malformed input sends the user to inspect, which is where
// they are. A hint the call site chose is kept.
func inspectError(err error) error {
	var h *hintError
	if errors.As(err, &h) || !errors.Is(err, keyblob.ErrMalformed) {
		return err
	}
	return withHint(err, "the file is damaged or cut short, or it is not the kind of file it starts as")
}

// readRest returns the whole input of a text file, of which head was read.
func readRest(head []byte, rest io.Reader) ([]byte, error) {
	if len(head) < inspectHead {
		return head, nil // head ended at the end of the input
	}
	data, err := format.ReadAll(io.MultiReader(bytes.NewReader(head), rest), maxInspectText)
	if errors.Is(err, format.ErrTooLarge) {
		return nil, withHint(fmt.Errorf("over %d MiB: larger than any keyblob key, recipient or store file", maxInspectText>>20), "%s", inspectKnows)
	}
	return data, err
}

// inspectKnows is the hint for a file that inspect does not know.
const inspectKnows = "inspect knows identities, recipient lines and public keys, session keys, key blobs, " +
	"encrypted files, sealed messages, the key store's files (NAME.id, NAME.gens, NAME.rcpt, NAME.blob) " +
	"and the FILE.params of 'session derive'"

// textDescriber chooses, from the start of a file that is not a binary
// keyblob object, nor an armored message or encrypted file, what describes
// the whole file; nil if it is no keyblob file.
func textDescriber(head []byte) func(*report, []byte) error {
	content := bytes.TrimSpace(skipComments(head))
	switch {
	case format.IsArmored(head), bytes.Contains(head, []byte("\n-----BEGIN ")): // PEM, maybe after comments
		return inspectPEM
	case bytes.HasPrefix(content, []byte(keyblob.RecipientPrefix)):
		return inspectRecipients
	case keystore.IsGenerationRecord(head):
		return describeGenerationRecord
	case bytes.HasPrefix(content, []byte(paramsPrefix)):
		return describeParamsFile
	}
	return nil
}

// inspectArmored describes an armored sealed message or encrypted file,
// which may be large, through the streaming armor reader.
func inspectArmored(rep *report, label string, head []byte, rest io.Reader) error {
	whole := io.MultiReader(bytes.NewReader(head), rest)
	if label == format.PEMSealed {
		return describeSealed(rep, seal.NewArmorReader(whole), "PEM")
	}
	r := format.NewArmorReader(whole, format.PEMEncrypted)
	bin, err := io.ReadAll(io.LimitReader(r, int64(keyblob.EncryptedHeaderSize)))
	if err != nil {
		return err
	}
	return describeEncrypted(rep, bin, r, "PEM")
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
	case format.TypeIdentity:
		return fmt.Errorf("a stored identity without its armor: stored identity files are PEM (%s)", keystore.StoredIdentityLabel)
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
	case keystore.StoredIdentityLabel:
		return describeStoredIdentity(rep, data)
	case format.PEMSealed, format.PEMEncrypted:
		return fmt.Errorf("a %s after other text, which keyblob does not read", strings.ToLower(strings.TrimPrefix(label, "KEYBLOB ")))
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
	rep.setType("key_blob")
	rep.add("encoding", "encoding", encoding)
	rep.addText("wrapped with", b.ExchangeAlg().String())
	rep.addText("post-quantum", strconv.FormatBool(b.ExchangeAlg().PostQuantum()))
	rep.addShown("recipient", "wrapped to", keyFacts{exchange: b.ExchangeAlg(), exchangeFP: b.Recipient()}.object(), b.Recipient().String())
	rep.add("session_alg", "session key", b.SessionAlg())
	rep.add("serial", "serial", b.Serial())
	rep.add("created", "created", b.Created())
	describeDescription(rep, b.Description())
	rep.add("signed", "signed", b.Signed())
	if !b.Signed() {
		rep.addJSON("signer", nil)
		rep.addJSON("signature_valid", nil)
		return nil
	}
	rep.addText("signature", b.SignatureAlg().String())
	rep.addShown("signer", "signed by", factsOf(b.SignerKey()).object(), b.Signer().String())
	rep.add("signature_valid", "signature valid", b.Verify(b.SignerKey()) == nil)
	rep.addText("checked", "against the key the blob carries; 'import --verify SIGNER' checks whose key it is")
	return nil
}

// describeDescription records a blob's description: quoted in the text
// form, so that no description can pass for another line, and null when
// there is none.
func describeDescription(rep *report, desc string) {
	if desc == "" {
		rep.addShown("description", "description", nil, "none")
		return
	}
	rep.addShown("description", "description", desc, strconv.Quote(desc))
}

func describeSessionKey(rep *report, data []byte) error {
	k, err := keyblob.ParseSessionKey(data)
	if err != nil {
		return err
	}
	rep.setType("session_key")
	rep.add("session_alg", "algorithm", k.Alg())
	rep.add("serial", "serial", k.Serial())
	p, derived := k.Params()
	if !derived {
		rep.addShown("origin", "origin", "random", "random")
		rep.addJSON("params", nil)
		return nil
	}
	rep.addShown("origin", "origin", "derived", "password-derived")
	rep.addShown("params", "parameters", paramsObject(p), p.String())
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
	rep.setType("encrypted_file")
	rep.add("encoding", "encoding", encoding)
	rep.add("session_alg", "algorithm", h.SessionAlg)
	rep.add("serial", "session key", h.Serial)
	rep.add("size", "size", size)
	plain, err := stream.PlaintextSize(size - int64(keyblob.EncryptedHeaderSize))
	describePlaintextSize(rep, plain, err == nil, "the file is truncated or extended")
	return nil
}

// describePlaintextSize records the plaintext size that the size of a
// payload implies, or that no plaintext has that size (why says so).
func describePlaintextSize(rep *report, plain int64, valid bool, why string) {
	if !valid {
		rep.addShown("plaintext_size", "plaintext size", nil, "invalid: "+why)
	} else {
		rep.add("plaintext_size", "plaintext size", plain)
	}
	rep.addJSON("size_valid", valid)
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
	rep.setType("identity")
	describeKeys(rep, id.Recipient())
	return nil
}

func inspectRecipients(rep *report, data []byte) error {
	rs, err := keyblob.ParseRecipients(data)
	if err != nil {
		return err
	}
	if len(rs) == 1 {
		rep.setType("recipient")
		describeKeys(rep, rs[0])
		return nil
	}
	rep.setType("recipients")
	list := make([]object, len(rs))
	lines := make([]string, len(rs))
	for i, r := range rs {
		list[i] = factsOf(r).object()
		lines[i] = fmt.Sprintf("%s (%s)", r.Fingerprint(), r.Kind())
	}
	rep.addText("count", strconv.Itoa(len(rs)))
	rep.addShown("recipients", "recipient", list, lines...)
	return nil
}

// describeKeys records a recipient's keys: in the text form as lines of
// their own, in the JSON form as the one "recipient" object.
func describeKeys(rep *report, r *keyblob.Recipient) {
	rep.addJSON("recipient", factsOf(r).object())
	describeKeysText(rep, r)
}

// describeKeysText prints a recipient's keys as lines of text.
func describeKeysText(rep *report, r *keyblob.Recipient) {
	rep.addText("kind", r.Kind())
	rep.addText("fingerprint", r.Fingerprint().String())
	rep.addText("exchange", r.ExchangeAlg().String())
	if r.CanExchange() {
		rep.addText("exchange key", r.ExchangeFingerprint().String())
	}
	rep.addText("post-quantum", strconv.FormatBool(r.ExchangeAlg().PostQuantum()))
	rep.addText("signature", r.SignatureAlg().String())
	if r.CanVerify() {
		rep.addText("signing key", r.SigningFingerprint().String())
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
	rep.setType("sealed_message")
	rep.add("encoding", "encoding", encoding)
	rep.add("created", "created", h.Created())
	if h.Expires().IsZero() {
		rep.addShown("expires", "expires", nil, "never")
	} else {
		rep.add("expires", "expires", h.Expires())
	}
	rep.add("serial", "serial", h.Serial())
	describeStanzas(rep, h)
	describeSender(rep, h)
	describeSealedSizes(rep, h, rest)
	return nil
}

// describeStanzas lists the recipients and whether all are post-quantum.
func describeStanzas(rep *report, h *seal.Header) {
	rep.addJSON("passphrase", h.Passphrase())
	if h.Passphrase() {
		rep.addShown("recipients", "recipient", []object{}, "passphrase (Argon2id)")
		rep.addJSON("unknown_stanzas", []int{})
		rep.addShown("post_quantum", "post-quantum", nil, "no key exchange (passphrase)")
		return
	}
	list, unknown := []object{}, []int{}
	var lines []string
	pq := true
	for _, s := range h.Stanzas() {
		b := s.Blob()
		if b == nil {
			unknown = append(unknown, int(s.Type()))
			lines = append(lines, fmt.Sprintf("unknown stanza type 0x%02x", s.Type()))
			continue
		}
		list = append(list, keyFacts{exchange: b.ExchangeAlg(), exchangeFP: b.Recipient()}.object())
		lines = append(lines, fmt.Sprintf("%s (%s)", b.Recipient(), b.ExchangeAlg()))
		pq = pq && b.ExchangeAlg().PostQuantum()
	}
	rep.addShown("recipients", "recipient", list, lines...)
	rep.addJSON("unknown_stanzas", unknown)
	rep.add("post_quantum", "post-quantum", pq && len(list) > 0)
}

// describeSender records whether and by whom the message says it is
// signed. Nothing is checked: inspect has no keys.
func describeSender(rep *report, h *seal.Header) {
	rep.add("signed", "signed", h.Signed())
	if !h.Signed() {
		rep.addJSON("signer", nil)
		return
	}
	rep.addText("signature", h.Signer().SignatureAlg().String())
	rep.addShown("signer", "signed by", factsOf(h.Signer()).object(), h.Signer().SigningFingerprint().String())
	rep.addText("checked", "no: inspect has no keys; 'open --from SENDER' checks it")
}

// describeSealedSizes reports the sizes that follow from the rest of the
// message after the header: the payload, and the plaintext it holds.
func describeSealedSizes(rep *report, h *seal.Header, rest int64) {
	rep.add("header_size", "header size", h.Size())
	payload := rest - int64(h.SignatureSize())
	rep.add("payload_size", "payload size", payload)
	plain, err := stream.PlaintextSize(payload)
	describePlaintextSize(rep, plain, err == nil, "the message is truncated or extended")
}
