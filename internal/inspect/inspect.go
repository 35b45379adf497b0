package inspect

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/format"
	"github.com/keyblob/keyblob/internal/stream"
)

// Head is how much of a file Inspect reads to classify it.
const Head = 64 << 10

// MaxText bounds the text files Inspect reads whole (keys, recipient
// files, the key store's entries, parameters): the key store's bound on an
// entry (spec/keystore.md 3.5), with room for its armor.
const MaxText = 2 << 20

// ErrUnknown is the error of Inspect for a file of no kind it knows.
var ErrUnknown = errors.New("not a keyblob file")

// ErrTooLarge is the error of Inspect for a text file over MaxText.
var ErrTooLarge = fmt.Errorf("over %d MiB: larger than any keyblob key, recipient or store file", MaxText>>20)

// ErrEncryptedKey is the error of Inspect for an encrypted PKCS#8 private
// key, which keyblob does not read.
var ErrEncryptedKey = errors.New("an encrypted PKCS#8 private key, which keyblob does not read")

// An IdentityError is the error of Inspect for an identity file that does
// not parse: Err is the parser's, Data the file, for advice on what an
// identity file holds.
type IdentityError struct {
	Err  error
	Data []byte
}

func (e *IdentityError) Error() string { return e.Err.Error() }
func (e *IdentityError) Unwrap() error { return e.Err }

// An input is the file being inspected: its class, the head Inspect read,
// the rest of it, and its size if known.
type input struct {
	class Class
	head  []byte
	rest  io.Reader
	size  int64 // of head and rest; -1 if unknown
}

// Inspect reads r and describes what it is. size is the size of what r
// holds, if the caller knows it (a regular file), or -1: then the rest of
// a large object (an encrypted file) is read to count it. Inspect reads
// at most MaxText of a text file, and refuses a file of no kind it knows
// (ErrUnknown) after reading at most Head bytes. Errors are the parser's
// of the file's kind, or the errors of this package; a read error of r is
// returned as it is.
func Inspect(r io.Reader, size int64) (*Report, error) {
	head, err := io.ReadAll(io.LimitReader(r, Head))
	if err != nil {
		return nil, err
	}
	in := &input{class: Classify(head), head: head, rest: r, size: size}
	switch k := in.class.Kind; {
	case k != nil:
		return describe(k, in)
	case in.class.Form == Binary:
		return nil, fmt.Errorf("a %s, which this version of keyblob cannot describe", format.TypeName(in.class.Type))
	case in.class.Form == Unknown:
		return nil, ErrUnknown
	case in.class.Label == "":
		return nil, errors.New("malformed PEM")
	}
	return nil, fmt.Errorf("a PEM file of type %q, which keyblob does not use", in.class.Label)
}

// describe describes the input, of kind k.
func describe(k *Kind, in *input) (*Report, error) {
	rep := &Report{}
	if err := k.describe(rep, in); err != nil {
		return nil, err
	}
	return rep, nil
}

// whole returns the whole of a text file, at most MaxText.
func (in *input) whole() ([]byte, error) {
	if len(in.head) < Head {
		return in.head, nil // head ended at the end of the input
	}
	data, err := format.ReadAll(in.all(), MaxText)
	if errors.Is(err, format.ErrTooLarge) {
		return nil, ErrTooLarge
	}
	return data, err
}

// all reads the whole input from its start.
func (in *input) all() io.Reader {
	return io.MultiReader(bytes.NewReader(in.head), in.rest)
}

// text parses the whole of a text file with describe.
func (in *input) text(rep *Report, describe func(*Report, []byte) error) error {
	data, err := in.whole()
	if err != nil {
		return err
	}
	return describe(rep, data)
}

// encoding names the form of a binary object or its armor.
func (in *input) encoding() string {
	if in.class.Form == Binary {
		return "binary"
	}
	return "PEM"
}

// streamed refuses a large object (a sealed message, an encrypted file)
// whose armor does not start the file: the armor readers read it only
// there.
func (in *input) streamed() error {
	if in.class.Form == Binary || in.class.Form == Armored {
		return nil
	}
	return fmt.Errorf("a %s after other text, which keyblob does not read", strings.ToLower(strings.TrimPrefix(in.class.Label, "KEYBLOB ")))
}

func refuseEncryptedKey(*Report, *input) error { return ErrEncryptedKey }

func describeBlob(rep *Report, in *input) error {
	if in.class.Form == Binary {
		return describeBlobData(rep, in.head, "binary")
	}
	return in.text(rep, func(rep *Report, data []byte) error { return describeBlobData(rep, data, "PEM") })
}

func describeBlobData(rep *Report, data []byte, encoding string) error {
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
func describeDescription(rep *Report, desc string) {
	if desc == "" {
		rep.addShown("description", "description", nil, "none")
		return
	}
	rep.addShown("description", "description", desc, strconv.Quote(desc))
}

func describeSessionKey(rep *Report, in *input) error {
	if in.class.Form == Binary {
		return describeSessionKeyData(rep, in.head)
	}
	return in.text(rep, describeSessionKeyData)
}

func describeSessionKeyData(rep *Report, data []byte) error {
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

// describeEncrypted describes an encrypted file, which may be large: its
// header, and the sizes its length implies.
func describeEncrypted(rep *Report, in *input) error {
	if err := in.streamed(); err != nil {
		return err
	}
	if in.class.Form == Binary {
		return describeEncryptedHeader(rep, in.head, in.rest, in.size, "binary")
	}
	r := format.NewArmorReader(in.all(), format.PEMEncrypted)
	bin, err := io.ReadAll(io.LimitReader(r, int64(keyblob.EncryptedHeaderSize)))
	if err != nil {
		return err
	}
	return describeEncryptedHeader(rep, bin, r, -1, "PEM")
}

func describeEncryptedHeader(rep *Report, head []byte, rest io.Reader, size int64, encoding string) error {
	h, err := keyblob.ParseEncryptedHeader(head)
	if err != nil {
		return err
	}
	if size < 0 {
		n, err := io.Copy(io.Discard, rest)
		if err != nil {
			return err
		}
		size = int64(len(head)) + n
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
func describePlaintextSize(rep *Report, plain int64, valid bool, why string) {
	if !valid {
		rep.addShown("plaintext_size", "plaintext size", nil, "invalid: "+why)
	} else {
		rep.add("plaintext_size", "plaintext size", plain)
	}
	rep.addJSON("size_valid", valid)
}

func describeIdentity(rep *Report, in *input) error {
	return in.text(rep, func(rep *Report, data []byte) error {
		id, err := keyblob.ParseIdentity(data)
		if err != nil {
			return &IdentityError{Err: err, Data: data}
		}
		rep.setType("identity")
		describeKeys(rep, id.Recipient())
		return nil
	})
}

func describeRecipients(rep *Report, in *input) error {
	return in.text(rep, describeRecipientsData)
}

func describeRecipientsData(rep *Report, data []byte) error {
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
func describeKeys(rep *Report, r *keyblob.Recipient) {
	rep.addJSON("recipient", factsOf(r).object())
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
