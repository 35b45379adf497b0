// Package inspect says what a keyblob file is, without any passphrase or
// secret key. Its one table of kinds says how each kind of file is
// recognised and which command reads it; Classify, the one classifier,
// tells a file's kind from its first bytes (for inspect, and for the hints
// of a command given the wrong kind of file), and Inspect describes a
// whole file as a Report, printed as text or as JSON.
//
// The package reads from an io.Reader and from bytes; it opens no file.
// Its errors are unprefixed; the CLI adds its hints.
package inspect

import (
	"bytes"
	"regexp"
	"strings"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/cert"
	"github.com/keyblob/keyblob/internal/format"
	"github.com/keyblob/keyblob/keystore"
	"github.com/keyblob/keyblob/password"
)

// A Kind is a kind of file that keyblob knows: what it is called, how it
// is recognised, and the command that reads it. The kinds are the rows of
// one table, and a Kind is always one of them: compare them as pointers.
type Kind struct {
	// Name is what the file is, in a sentence: "sealed message".
	Name string
	// Use is the hint for a file of this kind given to another command:
	// the command that reads it, {file} standing for the file; "" if
	// there is none.
	Use string
	// Type is the type byte of its binary form, 0 if it has none.
	Type byte
	// Label is the type of its PEM block, "" if it has none.
	Label string
	// Prefix starts its line form (after comment lines), "" if none.
	Prefix string

	match    func(head []byte) bool // recognises a text form of its own
	describe func(rep *Report, in *input) error
}

// paramsPrefix starts the parameter line of a parameter file: the first
// word of the one text form of parameters, password.Params.String.
var paramsPrefix = strings.Fields(password.Defaults().String())[0] + " "

// kinds is the table of the kinds of file keyblob knows. Classify tries
// the line forms (Prefix, match) in this order.
var kinds = []*Kind{
	{Name: "sealed message", Use: "'keyblob open -i IDENTITY {file}' opens it",
		Type: format.TypeSealed, Label: format.PEMSealed, describe: describeSealed},
	{Name: "encrypted file", Use: "'keyblob decrypt -k SESSIONKEY {file}' decrypts it",
		Type: format.TypeEncrypted, Label: format.PEMEncrypted, describe: describeEncrypted},
	{Name: "key blob", Use: "'keyblob import -i IDENTITY {file}' unwraps it",
		Type: format.TypeBlob, Label: format.PEMBlob, describe: describeBlob},
	{Name: "session key", Use: "use it with -k {file} (encrypt, decrypt, export, open)",
		Type: format.TypeSessionKey, Label: format.PEMSessionKey, describe: describeSessionKey},
	{Name: "identity", Use: "use it with -i {file} (import, open) or -s/--sign",
		Label: format.PEMPrivateKey, describe: describeIdentity},
	{Name: "recipient (public key)", Use: "use it with -r {file} (seal, export) or --verify/--from",
		Label: format.PEMPublicKey, Prefix: keyblob.RecipientPrefix, describe: describeRecipients},
	{Name: "stored identity", Type: format.TypeIdentity, Label: keystore.StoredIdentityLabel,
		describe: describeStoredIdentity},
	{Name: "generation record", match: keystore.IsGenerationRecord, describe: describeGenerationRecord},
	{Name: "session derive parameters", Prefix: paramsPrefix, describe: describeParamsFile},
	{Name: "encrypted private key", Label: "ENCRYPTED PRIVATE KEY", describe: refuseEncryptedKey},
	{Name: "stored authority", match: keystore.IsAuthorityFile, describe: describeAuthority},
	{Name: "authority receipt", match: isReceipt, describe: describeReceipt},
	{Name: "certificate", Use: "use it with --cert {file} (channel), 'keyblob ca add NAME {file}' (a CA) or --ca {file}",
		Label: cert.PEMCertificate, describe: describeCertificate},
	{Name: "certificate request", Use: "'keyblob cert issue --ca CA-CERT -i CA-IDENTITY {file}' issues it",
		Label: cert.PEMRequest, describe: describeRequest},
}

// A Form is how a file that Classify recognised is written.
type Form int

// The forms of a file. A file of no known form is Unknown.
const (
	Unknown  Form = iota
	Binary        // a binary keyblob object: magic, type byte
	Armored       // a KEYBLOB SEALED MESSAGE or ENCRYPTED FILE block at the start
	PEM           // a PEM block after nothing but blank and '#' comment lines
	Embedded      // a PEM block at the start of a line after other text
	Line          // a text form of lines: a recipient line, a record
)

// A Class is what Classify tells about a file. Kind is nil if the file is
// of no kind keyblob knows, even when its Form is known (a binary object
// of an unknown type, a PEM block of another type).
type Class struct {
	Kind  *Kind
	Form  Form
	Type  byte   // the type byte, for Binary
	Label string // the type of the first PEM block, for PEM and Embedded ("" if malformed)
}

// PeekSize is enough of the start of a file for Classify to tell its kind
// past the comment lines that keyblob writes before an identity's PEM.
const PeekSize = 512

// pemLabel finds the first PEM begin line.
var pemLabel = regexp.MustCompile(`(?m)^-----BEGIN ([A-Z0-9 ]+)-----`)

// Classify tells what a file is from its first bytes (PeekSize or more).
// It checks no more than the start of the form: the parser of the kind
// decides whether the file is good. It never fails and never panics.
func Classify(head []byte) Class {
	if t, ok := format.Sniff(head); ok {
		return Class{Kind: find(func(k *Kind) bool { return k.Type != 0 && k.Type == t }), Form: Binary, Type: t}
	}
	if label, ok := format.ArmorLabel(head); ok && (label == format.PEMSealed || label == format.PEMEncrypted) {
		return Class{Kind: byLabel(label), Form: Armored, Label: label}
	}
	content := skipComments(head)
	if format.IsArmored(head) || bytes.Contains(head, []byte("\n-----BEGIN ")) {
		return classifyPEM(head, len(head)-len(content))
	}
	text := bytes.TrimSpace(content)
	k := find(func(k *Kind) bool {
		return (k.Prefix != "" && bytes.HasPrefix(text, []byte(k.Prefix))) || (k.match != nil && k.match(head))
	})
	if k == nil {
		return Class{}
	}
	return Class{Kind: k, Form: Line}
}

// classifyPEM classifies a file that holds a PEM begin line, by the first
// one; start is where its content starts after comment lines.
func classifyPEM(head []byte, start int) Class {
	m := pemLabel.FindSubmatchIndex(head)
	if m == nil {
		return Class{Form: PEM}
	}
	label := string(head[m[2]:m[3]])
	form := PEM
	if m[0] != start {
		form = Embedded
	}
	return Class{Kind: byLabel(label), Form: form, Label: label}
}

// Readable returns the kind of a file that its command reads as it is
// written, or nil: a file of no known kind, or a PEM block after other
// text, which no command reads.
func (c Class) Readable() *Kind {
	if c.Form == Embedded {
		return nil
	}
	return c.Kind
}

// Is reports whether c is a readable file whose kind has the PEM label
// label (a recipient line is a PUBLIC KEY). No file is of label "".
func (c Class) Is(label string) bool {
	k := c.Readable()
	return k != nil && label != "" && k.Label == label
}

func byLabel(label string) *Kind {
	return find(func(k *Kind) bool { return k.Label == label })
}

// find returns the first kind of the table for which ok is true, or nil.
func find(ok func(*Kind) bool) *Kind {
	for _, k := range kinds {
		if ok(k) {
			return k
		}
	}
	return nil
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
