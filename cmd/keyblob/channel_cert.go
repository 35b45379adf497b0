package main

// The certificate flags of channel serve and connect (spec/channel.md
// section 4.8): --cert sends this end's chain, --server-ca/--server-name
// and --authorized-ca/--authorized-name verify the peer's with
// certtrust.go.

import (
	"errors"
	"fmt"
	"path"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/cert"
	"github.com/keyblob/keyblob/channel"
)

// certFlags are the certificate flags of both ends.
type certFlags struct {
	cert     string   // --cert: this end's chain
	peerCA   string   // --server-ca or --authorized-ca
	peerName string   // --server-name or --authorized-name
	crls     []string // --crl
}

// ownChain reads --cert: a chain whose leaf certifies id (which the
// handshake then proves), as DER for the handshake.
func (e *env) ownChain(file string, id *keyblob.Identity) ([][]byte, error) {
	data, err := e.readLimited(file, "certificate", cert.MaxChainSize)
	if err != nil {
		return nil, err
	}
	chain, err := cert.ParseChain(data)
	if err != nil {
		return nil, fmt.Errorf("--cert %s: %w", file, err)
	}
	r, err := cert.Recipient(chain[0])
	if err != nil {
		return nil, fmt.Errorf("--cert %s: %w", file, err)
	}
	if !r.Equal(id.Recipient()) {
		return nil, usagef("--cert %s certifies %s, not the identity -i gives (%s)", file, r.Fingerprint(), id.Recipient().Fingerprint())
	}
	der := make([][]byte, len(chain))
	for i, c := range chain {
		der[i] = c.Raw
	}
	return der, nil
}

// serverVerifier checks a server's chain for --server-name.
func (e *env) serverVerifier(f *certFlags) (func([][]byte) (*channel.Certified, error), error) {
	if f.peerName == "" {
		return nil, usagef("--server-ca needs --server-name NAME, the DNS name the server's certificate must be for")
	}
	t, err := e.loadTrust(f.peerCA, f.crls)
	if err != nil {
		return nil, err
	}
	return func(chain [][]byte) (*channel.Certified, error) {
		v, err := e.verifyDER(t, chain, f.peerName, cert.Server)
		if err != nil {
			return nil, err
		}
		return &channel.Certified{Recipient: v.Recipient, Name: f.peerName}, nil
	}, nil
}

// clientVerifier checks a client's chain: any name, or one matching
// --authorized-name (path.Match: * within a label, a literal name).
func (e *env) clientVerifier(f *certFlags) (func([][]byte) (*channel.Certified, error), error) {
	if _, err := path.Match(f.peerName, ""); err != nil {
		return nil, usagef("--authorized-name %q: %v", f.peerName, err)
	}
	t, err := e.loadTrust(f.peerCA, f.crls)
	if err != nil {
		return nil, err
	}
	return func(chain [][]byte) (*channel.Certified, error) {
		v, err := e.verifyDER(t, chain, "", cert.Client)
		if err != nil {
			return nil, err
		}
		name, ok := matchName(v.Names, f.peerName)
		if !ok {
			return nil, fmt.Errorf("the client's certificate names %v, none of which --authorized-name %q allows", append(v.Names.DNS, v.Names.Email...), f.peerName)
		}
		return &channel.Certified{Recipient: v.Recipient, Name: name}, nil
	}, nil
}

// matchName returns the first certified name that pattern allows (every
// name when pattern is empty).
func matchName(n cert.Names, pattern string) (string, bool) {
	for _, name := range append(append([]string(nil), n.DNS...), n.Email...) {
		if ok, _ := path.Match(pattern, name); ok || pattern == "" {
			return name, true
		}
	}
	return "", false
}

// errNoCertIdentity is the usage error of --cert without -i.
var errNoCertIdentity = errors.New("--cert needs -i IDENTITY, the identity the certificate certifies")
