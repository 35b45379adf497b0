package main

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/keyblob/keyblob"
)

// loadIdentity reads an identity file (-i).
func (e *env) loadIdentity(name string) (*keyblob.Identity, error) {
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

// loadRecipient reads a recipient argument (-r, --verify): a recipient line,
// a file holding one, or a PEM public key file.
func (e *env) loadRecipient(arg string) (*keyblob.Recipient, error) {
	const hint = "a recipient is a line starting with \"keyblob:\" (from 'keyblob pubkey'), a file holding one, or a PEM public key file ('keyblob pubkey --pem', 'openssl pkey -pubout')"
	if strings.HasPrefix(arg, keyblob.RecipientPrefix) {
		r, err := keyblob.ParseRecipientLine(arg)
		return r, withHint(err, "%s", hint)
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
