package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/keystore"
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
		return nil, noStoredIdentity(name, err)
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
	if err != nil {
		return nil, withHint(fmt.Errorf("identity %s: %w", name, err), "%s", identityHint(data))
	}
	return id, nil
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
	const hint = "a recipient is a line starting with \"keyblob:\" (from 'keyblob pubkey'), a file holding one, or a PEM public key file ('keyblob pubkey --pem', 'openssl pkey -pubout')"
	if strings.HasPrefix(arg, keyblob.RecipientPrefix) {
		r, err := keyblob.ParseRecipientLine(arg)
		return r, withHint(err, "%s", hint)
	}
	stored, err := e.resolveName(arg)
	if err != nil {
		return nil, err
	}
	if stored {
		return e.storedRecipient(arg)
	}
	data, err := e.readSmall(arg, "recipient")
	if err != nil {
		return nil, withHint(err, "%s", hint)
	}
	r, err := keyblob.ParseRecipient(data)
	if err != nil {
		return nil, withHint(fmt.Errorf("recipient %s: %w", arg, err), "%s", hint)
	}
	return r, nil
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
	return k, nil
}

// storedRecipient resolves a contact, or a stored identity's public half.
func (e *env) storedRecipient(name string) (*keyblob.Recipient, error) {
	s, err := e.openStore()
	var r *keyblob.Recipient
	if err == nil {
		r, err = s.Recipient(name)
	}
	if errors.Is(err, keystore.ErrNoStore) || errors.Is(err, keystore.ErrNotFound) {
		return nil, withHint(fmt.Errorf("no recipient file %s, and no contact or stored identity of that name", name),
			"a recipient is a line starting with \"keyblob:\", a file, or the name of a contact or stored identity")
	}
	return r, storeError(err)
}

// noStoredIdentity explains that an -i argument is neither a file nor a
// stored identity.
func noStoredIdentity(name string, err error) error {
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
		return nil, noStoredIdentity(name, err)
	}
	return info.Current().Recipient, nil
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
