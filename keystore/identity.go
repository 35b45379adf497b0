package keystore

import (
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/atomicfile"
	"github.com/keyblob/keyblob/internal/format"
	"github.com/keyblob/keyblob/password"
)

const (
	identityExt      = ".id"
	pemIdentity      = "KEYBLOB STORED IDENTITY"
	identityAADLabel = "keyblob/v1 stored identity"
	maxGenerations   = 64
)

// ErrPassphrase is returned when a passphrase does not open a stored
// identity (or its file was modified: the two cannot be told apart). It is
// password.ErrPassphrase, the module's one passphrase failure.
var ErrPassphrase = password.ErrPassphrase

// A Generation is one identity of a name: rotation adds a generation and
// keeps the older ones to open old data.
type Generation struct {
	Created   time.Time
	Recipient *keyblob.Recipient
}

// IdentityInfo is the public part of a stored identity, readable without
// the passphrase. It is authenticated only when the identity is unlocked.
type IdentityInfo struct {
	Name        string
	Generations []Generation // oldest first; the last is current
}

// Current returns the current generation.
func (i *IdentityInfo) Current() Generation { return i.Generations[len(i.Generations)-1] }

// A Keyring is an unlocked stored identity: every generation's private keys.
type Keyring struct {
	Name       string
	Identities []*keyblob.Identity // oldest first; the last is current
	Created    []time.Time
}

// Current returns the current identity.
func (k *Keyring) Current() *keyblob.Identity { return k.Identities[len(k.Identities)-1] }

// ByExchange returns the generation with this exchange key, or nil.
func (k *Keyring) ByExchange(fp keyblob.Fingerprint) *keyblob.Identity {
	for _, id := range k.Identities {
		if id.CanExchange() && id.Recipient().ExchangeFingerprint().Equal(fp) {
			return id
		}
	}
	return nil
}

// BySigning returns the generation with this signature key, or nil.
func (k *Keyring) BySigning(fp keyblob.Fingerprint) *keyblob.Identity {
	for _, id := range k.Identities {
		if id.CanSign() && id.Recipient().SigningFingerprint().Equal(fp) {
			return id
		}
	}
	return nil
}

// storedIdentity is the decoded file of spec/keystore.md.
type storedIdentity struct {
	info       IdentityInfo
	params     password.Params
	ciphertext []byte
	aad        []byte // every byte before the ciphertext
	raw        []byte // the file as read
}

// encryptIdentity makes the file of a keyring under a passphrase, with a
// new salt, as password.Seal requires: its nonce is fixed.
func encryptIdentity(k *Keyring, passphrase []byte, params password.Params) ([]byte, error) {
	params.Salt = password.New().Salt
	var b cryptobyte.Builder
	b.AddBytes(format.Prefix(format.TypeIdentity))
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(k.Name)) })
	b.AddUint8(uint8(len(k.Identities)))
	for i, id := range k.Identities {
		b.AddUint64(uint64(k.Created[i].Unix()))
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(id.Recipient().String())) })
	}
	params.Append(&b)
	aad := b.BytesOrPanic()
	plain, err := identitiesPlaintext(k)
	if err != nil {
		return nil, err
	}
	ct, err := params.Seal(passphrase, password.StoredIdentity, plain, append([]byte(identityAADLabel), aad...))
	if err != nil {
		return nil, err
	}
	out := cryptobyte.NewBuilder(aad)
	out.AddUint32LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(ct) })
	return format.Armor(pemIdentity, out.BytesOrPanic()), nil
}

func identitiesPlaintext(k *Keyring) ([]byte, error) {
	var b cryptobyte.Builder
	for _, id := range k.Identities {
		pem, err := id.MarshalPEM()
		if err != nil {
			return nil, err
		}
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(pem) })
	}
	return b.Bytes()
}

// decodeIdentity parses a stored identity file whose name must be name.
func decodeIdentity(data []byte, name string) (*storedIdentity, error) {
	body, err := format.Unarmor(data, pemIdentity)
	if err == nil {
		err = format.CheckPrefix(body, format.TypeIdentity, "stored identity")
	}
	if err != nil {
		return nil, fmt.Errorf("identity %q: %w", name, err)
	}
	s := cryptobyte.String(body[format.HeaderSize:])
	si := &storedIdentity{}
	if err := si.decodeHeader(&s, name); err != nil {
		return nil, fmt.Errorf("identity %q: %w", name, err)
	}
	si.aad = body[:len(body)-len(s)]
	var n uint32
	var ct []byte
	if !s.ReadUint32(&n) || n > maxEntrySize || !s.ReadBytes(&ct, int(n)) || !s.Empty() {
		return nil, fmt.Errorf("identity %q: %w file", name, keyblob.ErrMalformed)
	}
	si.ciphertext = ct
	si.raw = data
	return si, nil
}

func (si *storedIdentity) decodeHeader(s *cryptobyte.String, name string) error {
	var rawName []byte
	var n uint8
	if !s.ReadUint8LengthPrefixed((*cryptobyte.String)(&rawName)) || !s.ReadUint8(&n) {
		return fmt.Errorf("%w file", keyblob.ErrMalformed)
	}
	if string(rawName) != name {
		return fmt.Errorf("the file is named %q inside: it was moved or swapped", rawName)
	}
	if n < 1 || n > maxGenerations {
		return fmt.Errorf("%d generations (allowed 1 to %d)", n, maxGenerations)
	}
	si.info.Name = name
	for range n {
		g, err := decodeGeneration(s)
		if err != nil {
			return err
		}
		si.info.Generations = append(si.info.Generations, g)
	}
	params, err := password.Read(s)
	si.params = params
	return err
}

func decodeGeneration(s *cryptobyte.String) (Generation, error) {
	var created uint64
	var line cryptobyte.String
	if !s.ReadUint64(&created) || !s.ReadUint16LengthPrefixed(&line) || created > math.MaxInt64 {
		return Generation{}, fmt.Errorf("%w file", keyblob.ErrMalformed)
	}
	r, err := keyblob.ParseRecipientLine(string(line))
	if err != nil {
		return Generation{}, err
	}
	return Generation{Created: time.Unix(int64(created), 0).UTC(), Recipient: r}, nil
}

// unlock decrypts the identities and checks them against the header.
func (si *storedIdentity) unlock(passphrase []byte) (*Keyring, error) {
	plain, err := si.params.Open(passphrase, password.StoredIdentity, si.ciphertext, append([]byte(identityAADLabel), si.aad...))
	if errors.Is(err, ErrPassphrase) {
		return nil, fmt.Errorf("identity %q: %w (or its file was modified)", si.info.Name, err)
	}
	if err != nil {
		return nil, fmt.Errorf("identity %q: %w", si.info.Name, err)
	}
	k := &Keyring{Name: si.info.Name}
	s := cryptobyte.String(plain)
	for _, g := range si.info.Generations {
		var pem cryptobyte.String
		if !s.ReadUint16LengthPrefixed(&pem) {
			return nil, fmt.Errorf("identity %q: %w plaintext", k.Name, keyblob.ErrMalformed)
		}
		id, err := keyblob.ParseIdentity(pem)
		if err != nil || !id.Recipient().Equal(g.Recipient) {
			return nil, fmt.Errorf("identity %q: its keys do not match its header", k.Name)
		}
		k.Identities, k.Created = append(k.Identities, id), append(k.Created, g.Created)
	}
	if !s.Empty() {
		return nil, fmt.Errorf("identity %q: %w plaintext", k.Name, keyblob.ErrMalformed)
	}
	return k, nil
}

// NewIdentity makes an identity of the given kind and stores it under name,
// encrypted with the passphrase. The name must be free, as for
// ImportIdentity.
func (s *Store) NewIdentity(name, kind string, passphrase []byte) (*keyblob.Identity, error) {
	id, err := keyblob.GenerateIdentity(kind)
	if err != nil {
		return nil, err
	}
	return id, s.ImportIdentity(name, id, passphrase)
}

// ImportIdentity stores an existing identity under a free name: no
// identity and no contact may hold it (ErrExists), checked under the lock.
func (s *Store) ImportIdentity(name string, id *keyblob.Identity, passphrase []byte) error {
	k := &Keyring{Name: name, Identities: []*keyblob.Identity{id}, Created: []time.Time{time.Now().UTC().Truncate(time.Second)}}
	return s.writeKeyring(k, passphrase, nil)
}

// writeKeyring encrypts and writes a keyring, then its generation record
// (generations.go), under one hold of the lock. With old nil it creates the
// file (the name must be free); otherwise it replaces the file only if the
// file still holds old, the bytes the keyring was unlocked from, so that two
// concurrent rotations cannot drop each other's generation (and with it the
// keys re-wrapped to it).
func (s *Store) writeKeyring(k *Keyring, passphrase []byte, old []byte) error {
	path, err := s.path(identitiesDir, k.Name, identityExt)
	if err != nil {
		return err
	}
	data, err := encryptIdentity(k, passphrase, s.opts.Params)
	if err != nil {
		return err
	}
	e := entry{path: path, what: "identity", name: k.Name, mode: 0o600}
	return s.withLock(func() error {
		if old != nil {
			err = replaceLocked(e, data, old)
		} else {
			err = s.createIdentityLocked(e, data)
		}
		if err != nil {
			return err
		}
		return s.writeGenerations(k)
	})
}

// createIdentityLocked creates a new identity file: no identity and no
// contact may hold the name. A record left by an identity of that name
// that is gone is removed first, so that it cannot be taken for the new
// identity's. The caller holds the lock.
func (s *Store) createIdentityLocked(e entry, data []byte) error {
	if _, err := os.Lstat(e.path); err == nil {
		return fmt.Errorf("%w: identity %q", ErrExists, e.name)
	}
	if err := s.checkNotHeld(e.name, KindContact); err != nil {
		return err
	}
	if err := s.removeGenerations(e.name); err != nil {
		return err
	}
	return createLocked(e, data)
}

// readIdentity reads and parses a stored identity file.
func (s *Store) readIdentity(name string) (*storedIdentity, error) {
	path, err := s.path(identitiesDir, name, identityExt)
	if err != nil {
		return nil, err
	}
	data, err := readEntry(path, "identity", name)
	if err != nil {
		return nil, err
	}
	return decodeIdentity(data, name)
}

// Identity returns the public part of a stored identity. It fails with
// ErrRolledBack if the file lacks a generation its record holds.
func (s *Store) Identity(name string) (*IdentityInfo, error) {
	si, err := s.readIdentity(name)
	if err != nil {
		return nil, err
	}
	if err := s.checkGenerations(&si.info); err != nil {
		return nil, err
	}
	return &si.info, nil
}

// Unlock decrypts a stored identity with its passphrase. It fails with
// ErrRolledBack, after the decryption, if the file lacks a generation its
// record holds.
func (s *Store) Unlock(name string, passphrase []byte) (*Keyring, error) {
	_, k, err := s.unlock(name, passphrase)
	return k, err
}

// unlock reads, decrypts and checks a stored identity against its record.
// A file that does not decrypt is reported as such before any record
// mismatch: only an authentic file is called rolled back.
func (s *Store) unlock(name string, passphrase []byte) (*storedIdentity, *Keyring, error) {
	si, err := s.readIdentity(name)
	if err != nil {
		return nil, nil, err
	}
	k, err := si.unlock(passphrase)
	if err == nil {
		err = s.checkGenerations(&si.info)
	}
	if err != nil {
		return nil, nil, err
	}
	return si, k, nil
}

// Identities lists the stored identities that can be read, by name. A
// damaged one (unreadable, malformed) is left out, so that it does not
// stop the work of the others (the key list's owners, Rotate of another
// identity); IdentityEntries lists it with its error, and using it by
// name still fails with that error. A rolled-back identity is not passed
// over: it is evidence that someone replaced a file, and Identities fails
// with ErrRolledBack.
func (s *Store) Identities() ([]*IdentityInfo, error) {
	entries, err := s.IdentityEntries()
	if err != nil {
		return nil, err
	}
	var out []*IdentityInfo
	for _, en := range entries {
		switch {
		case errors.Is(en.Err, ErrRolledBack):
			return nil, en.Err // evidence of tampering: never passed over
		case en.Err == nil:
			out = append(out, en.Info)
		}
	}
	return out, nil
}

// checkNoKeys refuses while stored keys are wrapped to the identity.
func (s *Store) checkNoKeys(name string) error {
	info, err := s.Identity(name)
	if err != nil {
		return err
	}
	keys, err := s.keysOf(info)
	if err != nil || len(keys) > 0 {
		return errors.Join(err, fmt.Errorf("identity %q still holds stored keys %v: they would be lost", name, keys))
	}
	return nil
}

// RemoveOptions say how RemoveIdentity removes. The zero value, or nil,
// refuses while stored session keys are wrapped to the identity: they
// would be lost.
type RemoveOptions struct {
	// Force removes the identity anyway, and even a damaged file.
	Force bool
}

// RemoveIdentity deletes a stored identity and its generation record.
func (s *Store) RemoveIdentity(name string, opts *RemoveOptions) error {
	force := opts != nil && opts.Force
	path, err := s.path(identitiesDir, name, identityExt)
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("%w: identity %q", ErrNotFound, name)
	}
	// Checked under the lock: a key stored meanwhile by another process
	// must not be orphaned. With force, even a damaged file is removed.
	// The record goes first: a removal cut short leaves an identity
	// without a record, never a record that a new identity could inherit.
	return s.withLock(func() error {
		if !force {
			if err := s.checkNoKeys(name); err != nil {
				return err
			}
		}
		if err := s.removeGenerations(name); err != nil {
			return err
		}
		return atomicfile.Remove(path)
	})
}
