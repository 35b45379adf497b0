package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/format"
	"github.com/keyblob/keyblob/keystore"
	"github.com/keyblob/keyblob/seal"
)

// loadIdentity reads an identity (-i, -s, --sign): a file, or the current
// generation of a stored identity, as resolveName decides.
func (e *env) loadIdentity(name string) (*keyblob.Identity, error) {
	ids, err := e.loadIdentities(name)
	if err != nil {
		return nil, err
	}
	return ids[len(ids)-1], nil
}

// loadIdentities reads an identity for opening: a file, or every
// generation of a stored identity (oldest first), so that data sealed
// before a rotation still opens.
func (e *env) loadIdentities(name string) ([]*keyblob.Identity, error) {
	if strings.HasPrefix(name, keyblob.RecipientPrefix) && !isFile(name) {
		return nil, notAnIdentity(lineName(name), "a recipient (public key)")
	}
	stored, err := e.resolveName(name)
	if err != nil {
		return nil, err
	}
	if !stored {
		id, err := e.readIdentityFile(name)
		return []*keyblob.Identity{id}, err
	}
	s, err := e.openStore()
	if err == nil {
		_, err = s.Identity(name) // exists? checked before asking a passphrase
	}
	if err != nil {
		return nil, identityLookupError(s, name, err)
	}
	k, err := e.unlockStored(s, name)
	if err != nil {
		return nil, err
	}
	return k.Identities, nil
}

// loadIdentityFile reads an identity file named by an argument that may
// also name a store entry (pubkey -i): such a word is refused, as
// resolveName refuses it.
func (e *env) loadIdentityFile(name string) (*keyblob.Identity, error) {
	if _, err := e.resolveName(name); err != nil {
		return nil, err
	}
	return e.readIdentityFile(name)
}

// readIdentityFile reads an identity file (an argument that is only ever
// a file, as id import's FILE).
func (e *env) readIdentityFile(name string) (*keyblob.Identity, error) {
	data, err := e.readSmall(name, "identity")
	if err != nil {
		return nil, err
	}
	id, err := keyblob.ParseIdentity(data)
	switch {
	case err != nil && fileIs(data, format.PEMPublicKey) && isStdio(name):
		return nil, notAnIdentity("the standard input", "a recipient (public key)")
	case err != nil && fileIs(data, format.PEMPublicKey):
		return nil, notAnIdentity(name, "a recipient (public key)")
	case err != nil:
		return nil, withHint(fmt.Errorf("identity %s: %w", name, err), "%s", identityHint(data))
	}
	e.warnExposed(name, "identity")
	return id, nil
}

// notAnIdentity says that what was given for an identity (-i, -s, --sign,
// FILE) is what (a recipient, a contact): someone's public key, which
// opens and signs nothing.
func notAnIdentity(name, what string) error {
	return withHint(fmt.Errorf("%s is %s, not an identity: give your private identity file or the name of a stored identity", name, what),
		"your identity is the file 'keyblob keygen -o FILE' wrote (it printed your recipient line), or a name 'keyblob id list' shows; recipients and contacts go to -r, --verify or --from")
}

// lineName stands for a recipient line in a message: its kind, not its
// 1,700 characters.
func lineName(line string) string {
	rest := strings.TrimPrefix(line, keyblob.RecipientPrefix)
	kind, _, _ := strings.Cut(rest, ":")
	if keystore.CheckName(kind) != nil {
		kind = "…"
	}
	return fmt.Sprintf("the recipient line %q", keyblob.RecipientPrefix+kind+":…")
}

// identityHint explains what an identity file should hold.
func identityHint(data []byte) string {
	if bytes.Contains(data, []byte("ENCRYPTED PRIVATE KEY")) {
		return "the key is encrypted: decrypt it with 'openssl pkey -in FILE -out PLAIN' first"
	}
	return "an identity is a file made by 'keyblob keygen', or a PKCS#8 key made by 'openssl genpkey -algorithm X25519|ED25519|RSA'"
}

// loadRecipient reads a recipient argument (-r, --verify, --from): a
// recipient line, a contact or stored identity, or a file holding a
// recipient line or a PEM public key, as resolveName decides.
func (e *env) loadRecipient(arg string) (*keyblob.Recipient, error) {
	if meantAsLine(arg) {
		r, err := keyblob.ParseRecipientLine(arg)
		return r, recipientHint(err)
	}
	stored, err := e.resolveName(arg)
	if err != nil {
		return nil, err
	}
	if stored {
		return e.storedRecipient(arg)
	}
	data, err := e.readLimited(arg, "recipient", keyblob.MaxRecipientsFileSize) // to say it holds several
	if err != nil {
		return nil, recipientHint(err)
	}
	r, err := keyblob.ParseRecipient(data)
	if errors.Is(err, keyblob.ErrSeveralRecipients) {
		return nil, withHint(fmt.Errorf("recipient %s: %w", arg, err), "-R %s reads every recipient of a file (seal); -r takes one", arg)
	}
	if err != nil && fileIs(data, format.PEMPrivateKey) {
		return nil, withHint(fmt.Errorf("%s is an identity (private key), not a recipient", arg),
			"give its recipient: 'keyblob pubkey -i %s' prints it; share that, never the identity", arg)
	}
	if err != nil {
		return nil, recipientHint(fmt.Errorf("recipient %s: %w", arg, err))
	}
	return r, nil
}

// meantAsLine reports whether a recipient argument is a recipient line:
// it starts with "keyblob:", or it names no file and holds a ':' but no
// path separator, as a line with a mistyped prefix does (no store name
// holds a ':').
func meantAsLine(arg string) bool {
	return strings.HasPrefix(arg, keyblob.RecipientPrefix) ||
		!isFile(arg) && strings.Contains(arg, ":") && !strings.ContainsAny(arg, `/\`)
}

// typoHint is the advice for a recipient line, typed or pasted by the
// user, whose checksum fails. (A stored contact that fails it is damaged,
// which its listing says.)
const typoHint = "a character of the line was changed, added or lost: copy the whole line again from its owner ('keyblob pubkey' or 'keyblob id show NAME' prints it), and check its fingerprint with them"

// recipientHint says what a recipient is, or, for a line with a typo,
// where to get it again.
func recipientHint(err error) error {
	if errors.Is(err, keyblob.ErrRecipientChecksum) {
		return withHint(err, "%s", typoHint)
	}
	return withHint(err, "a recipient is a line starting with \"keyblob:\" (from 'keyblob pubkey'), a file holding one, or a PEM public key file ('keyblob pubkey --pem', 'openssl pkey -pubout')")
}

// loadSessionKey reads a session key file (-k).
func (e *env) loadSessionKey(name string) (*keyblob.SessionKey, error) {
	data, err := e.readSmall(name, "session key")
	if err != nil {
		return nil, err
	}
	k, err := keyblob.ParseSessionKey(data)
	if err != nil {
		return nil, withHint(fmt.Errorf("session key %s: %w", name, err),
			"a session key file is made by 'keyblob session new' or 'keyblob import'")
	}
	e.warnExposed(name, "session key")
	return k, nil
}

// storedRecipient resolves a contact, or a stored identity's public half.
// A certified contact's certificate is verified first (checkCertified).
func (e *env) storedRecipient(name string) (*keyblob.Recipient, error) {
	s, err := e.openStore()
	var r *keyblob.Recipient
	if err == nil {
		r, err = e.storeRecipient(s, name)
	}
	if errors.Is(err, keystore.ErrNoStore) || errors.Is(err, keystore.ErrNotFound) {
		return nil, withHint(fmt.Errorf("no recipient file %s, and no contact or stored identity of that name", name),
			"a recipient is a line starting with \"keyblob:\", a file, or the name of a contact or stored identity")
	}
	return r, storeError(err)
}

// storeRecipient resolves name in s: a contact, verified if certified, or
// the current generation of a stored identity.
func (e *env) storeRecipient(s *keystore.Store, name string) (*keyblob.Recipient, error) {
	kind, err := s.Holder(name)
	if err != nil {
		return nil, err
	}
	if kind == keystore.KindContact {
		return e.contactRecipient(s, name)
	}
	return s.Recipient(name)
}

// identityLookupError explains why the stored identity name (an -i
// argument that is no file) was not found: the name is a contact's, or
// neither a file nor a stored identity. s is nil if the store did not
// open.
func identityLookupError(s *keystore.Store, name string, err error) error {
	if s != nil && errors.Is(err, keystore.ErrNotFound) {
		if kind, _ := s.Holder(name); kind == keystore.KindContact {
			return notAnIdentity(name, "a contact (someone's public key)")
		}
	}
	if errors.Is(err, keystore.ErrNoStore) || errors.Is(err, keystore.ErrNotFound) {
		return withHint(fmt.Errorf("no identity file %s, and no stored identity of that name", name),
			"give an identity file (keyblob keygen -o FILE) or the name of a stored identity ('keyblob id list')")
	}
	return storeError(err)
}

// storedIdentityRecipient returns the public half of a stored identity,
// without its passphrase.
func (e *env) storedIdentityRecipient(name string) (*keyblob.Recipient, error) {
	s, err := e.openStore()
	var info *keystore.IdentityInfo
	if err == nil {
		info, err = s.Identity(name)
	}
	if err != nil {
		return nil, identityLookupError(s, name, err)
	}
	return info.Current().Recipient, nil
}

// signerName names who holds a verified signature key: "bob (FP)" for the
// contact or stored identity bob (any generation), several names if
// several entries hold it, or the fingerprint alone. Only public parts of
// the store are read; a missing or damaged store names no one.
func (e *env) signerName(signer *keyblob.Recipient) string {
	fp := signer.SigningFingerprint()
	s, err := e.openStore()
	if err != nil {
		return fp.String()
	}
	names, err := s.Signers(fp)
	if err != nil || len(names) == 0 {
		return fp.String()
	}
	return fmt.Sprintf("%s (%s)", strings.Join(names, ", "), fp)
}

// storedIdentityFor is open's identity when none is given: the stored
// identity that a stanza of the message in is wrapped to (any generation),
// found by the public parts of the store; only its passphrase is asked.
// It returns nil if none is (seal then says that no identity matched),
// and the input to open, which holds again what was read of in: a regular
// file is read at offsets, and returned as it is.
func (e *env) storedIdentityFor(in io.Reader) ([]*keyblob.Identity, io.Reader, error) {
	h, in := peekHeader(in)
	if h == nil {
		return nil, in, nil // opening it will say what is wrong
	}
	s, err := e.openStore()
	if errors.Is(err, keystore.ErrNoStore) {
		return nil, in, nil
	}
	if err != nil {
		return nil, in, err
	}
	entries, err := s.IdentityEntries()
	if err != nil {
		return nil, in, storeError(err)
	}
	name := stanzaOwner(h, entries)
	if name == "" {
		return nil, in, nil
	}
	k, err := e.unlockStored(s, name)
	if err != nil {
		return nil, in, err
	}
	return k.Identities, in, nil
}

// stanzaOwner returns the first readable stored identity, in the order of
// the stanzas, that a key blob stanza is wrapped to, or "".
func stanzaOwner(h *seal.Header, entries []keystore.IdentityEntry) string {
	for _, st := range h.Stanzas() {
		if st.Blob() == nil {
			continue
		}
		for _, en := range entries {
			if en.Err == nil && en.Info.HasExchange(st.Blob().Recipient()) {
				return en.Name
			}
		}
	}
	return ""
}

// peekHeader reads the header of the message in (armored or binary)
// without using it up: a regular file is read at offsets; a stream is
// recorded as it is read (at most the 2 MiB of a header, and the
// buffer of the armor), and the returned reader gives it again. The header
// is nil if it does not parse.
func peekHeader(in io.Reader) (*seal.Header, io.Reader) {
	if file, off, size, ok := regularInput(in); ok {
		return readAnyHeader(io.NewSectionReader(file, off, size)), in
	}
	var read bytes.Buffer
	h := readAnyHeader(io.TeeReader(in, &read))
	return h, io.MultiReader(&read, in)
}

func readAnyHeader(r io.Reader) *seal.Header {
	src, err := seal.Dearmor(r)
	if err != nil {
		return nil
	}
	h, err := seal.ReadHeader(src)
	if err != nil {
		return nil
	}
	return h
}

// resolveName decides what an argument that may name a store entry names
// (spec/keystore.md 3.4), so that a file planted in a shared working
// directory cannot stand in for a contact or identity, nor the reverse:
//   - "-" or "" is stdin, and a word that is not an entry name (it holds a
//     path separator or starts with ".", as ./bob, /tmp/bob, ../x) is
//     only ever a file: stored is false;
//   - a word that names a file and a store entry is refused;
//   - otherwise it is a store name exactly when no file has that name.
func (e *env) resolveName(arg string) (stored bool, err error) {
	if isStdio(arg) || keystore.CheckName(arg) != nil {
		return false, nil
	}
	if !isFile(arg) {
		return true, nil
	}
	kind, err := e.storeHolder(arg)
	if err != nil || kind == "" {
		return false, err
	}
	return false, withHint(fmt.Errorf("%q names both a file in the working directory and the %s %q in the key store", arg, kind, arg),
		"write ./%s for the file; for the %s, run the command where no file is named %s", arg, kind, arg)
}

// storeHolder returns the kind of store entry that holds name, or "" if
// none does or there is no store.
func (e *env) storeHolder(name string) (string, error) {
	s, err := e.openStore()
	if errors.Is(err, keystore.ErrNoStore) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	kind, err := s.Holder(name)
	return kind, storeError(err)
}

// maxRecipientList bounds a file of recipients named one per line
// (--operators, --authorized).
const maxRecipientList = 1 << 20

// withoutComment cuts a list line's comment: from a '#' that starts the
// line or follows white space (a file name may hold '#' elsewhere).
func withoutComment(line string) string {
	for i, c := range line {
		if c == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t') {
			return line[:i]
		}
	}
	return line
}

// loadRecipientList reads a file naming recipients, one per line, each as
// -r takes it (a recipient line, a file holding one, a contact or stored
// identity name), blank lines and '#' comments (to the end of the line,
// after white space) skipped. Each must pass
// check; what names the list in messages. It holds at least one.
func (e *env) loadRecipientList(name, what string, check func(*keyblob.Recipient) error) ([]*keyblob.Recipient, error) {
	data, err := e.readLimited(name, what, maxRecipientList)
	if err != nil {
		return nil, err
	}
	var rs []*keyblob.Recipient
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(withoutComment(line))
		if line == "" {
			continue
		}
		r, err := e.loadRecipient(line)
		if err == nil {
			err = check(r)
		}
		if err != nil {
			return nil, inFile(name, fmt.Errorf("line %d: %w", n+1, err))
		}
		rs = append(rs, r)
	}
	if len(rs) == 0 {
		return nil, inFile(name, fmt.Errorf("no %s (one recipient or contact name per line)", what))
	}
	return rs, nil
}
