package keystore

import (
	"errors"
	"fmt"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/atomicfile"
)

const keyExt = ".blob"

// KeyInfo describes a stored session key, from its blob; no secret.
type KeyInfo struct {
	Name        string
	Serial      keyblob.Serial
	Alg         keyblob.SessionAlg
	Created     time.Time
	Description string
	Owner       string // the stored identity it is wrapped to; "" if none
	Blob        *keyblob.KeyBlob

	raw []byte // the file as read
}

// KeyOptions say how PutKey stores a key. The zero value, or nil, stores
// a new key without a description, dated now.
type KeyOptions struct {
	// Replace replaces an existing key of the name; without it, the name
	// must be free (ErrExists).
	Replace bool
	// Description is recorded in the blob, signed (keyblob.ExportOptions).
	Description string
	// Time is the blob's creation time; zero means now.
	Time time.Time
}

// PutKey stores a session key under name (CryptoAPI's "Storing Session Keys"): exported as a key
// blob wrapped to the keyring's current exchange key and signed by its
// current signature key.
func (s *Store) PutKey(name string, key *keyblob.SessionKey, k *Keyring, opts *KeyOptions) error {
	if opts == nil {
		opts = &KeyOptions{}
	}
	path, err := s.path(keysDir, name, keyExt)
	if err != nil {
		return err
	}
	blob, err := exportKey(key, k, opts.Description, opts.Time)
	if err != nil {
		return err
	}
	// Under the lock, the identity must still be stored with this
	// generation: a key wrapped to an identity removed (or replaced) by
	// another process meanwhile could never be opened.
	return s.writeEntry(write{
		entry:   entry{path: path, what: "key", name: name, mode: 0o600},
		data:    blob.Marshal(),
		replace: opts.Replace,
		check:   func() error { return s.holds(k) },
	})
}

// exportKey exports a session key as a stored key blob: wrapped to the
// keyring's current exchange key and signed by its current signature key.
func exportKey(key *keyblob.SessionKey, k *Keyring, description string, created time.Time) (*keyblob.KeyBlob, error) {
	id := k.Current()
	if !id.CanExchange() || !id.CanSign() {
		return nil, fmt.Errorf("identity %q must both receive and sign to store keys (it is %s)", k.Name, id.Kind())
	}
	return keyblob.Export(key, id.Recipient(), &keyblob.ExportOptions{Signer: id, Description: description, Time: created})
}

// holds checks that the store still has the keyring's identity, with the
// keyring's current generation among its generations.
func (s *Store) holds(k *Keyring) error {
	info, err := s.Identity(k.Name)
	if err != nil {
		return err
	}
	fp := k.Current().Recipient().ExchangeFingerprint()
	for _, g := range info.Generations {
		if g.Recipient.ExchangeFingerprint().Equal(fp) {
			return nil
		}
	}
	return fmt.Errorf("identity %q was replaced by another process meanwhile; nothing was written", k.Name)
}

// ErrRefused is returned when a stored key fails verification: it was
// changed, or replaced by a blob someone else made (substitution).
var ErrRefused = errors.New("stored key refused")

// Key returns the description of a stored key.
func (s *Store) Key(name string) (*KeyInfo, error) {
	info, err := s.readKey(name)
	if err != nil {
		return nil, err
	}
	ids, err := s.Identities()
	if err != nil {
		return nil, err
	}
	info.Owner = ownerOf(info.Blob.Recipient(), ids)
	return info, nil
}

// readKey reads and parses a stored key's blob; Owner is left empty.
func (s *Store) readKey(name string) (*KeyInfo, error) {
	path, err := s.path(keysDir, name, keyExt)
	if err != nil {
		return nil, err
	}
	data, err := readEntry(path, "key", name)
	if err != nil {
		return nil, err
	}
	blob, err := keyblob.ParseKeyBlob(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %q is not a valid key blob: %w", ErrRefused, name, err)
	}
	return &KeyInfo{Name: name, Serial: blob.Serial(), Alg: blob.SessionAlg(), Created: blob.Created(),
		Description: blob.Description(), Blob: blob, raw: data}, nil
}

// ownerOf names the identity with a generation whose exchange key has
// this fingerprint, or "".
func ownerOf(fp keyblob.Fingerprint, ids []*IdentityInfo) string {
	for _, info := range ids {
		for _, g := range info.Generations {
			if g.Recipient.ExchangeFingerprint().Equal(fp) {
				return info.Name
			}
		}
	}
	return ""
}

// GetKey reads a stored key and, before anything else, verifies that its
// blob is signed by a generation of the identity it is wrapped to (CryptoAPI's
// "Storing Session Keys"); then it unwraps it. unlock is called with the owner's name.
func (s *Store) GetKey(name string, unlock func(identity string) (*Keyring, error)) (*keyblob.SessionKey, error) {
	info, err := s.Key(name)
	if err != nil {
		return nil, err
	}
	if info.Owner == "" {
		return nil, fmt.Errorf("%w: %q is wrapped to %s, which is none of your identities (substituted? or an identity removed, or rolled back?)", ErrRefused, name, info.Blob.Recipient())
	}
	k, err := unlock(info.Owner)
	if err != nil {
		return nil, err
	}
	return openKey(info, k)
}

// openKey verifies and unwraps a stored key with its owner's keyring.
func openKey(info *KeyInfo, k *Keyring) (*keyblob.SessionKey, error) {
	b := info.Blob
	if !b.Signed() {
		return nil, fmt.Errorf("%w: %q is not signed (substituted?)", ErrRefused, info.Name)
	}
	signer := k.BySigning(b.Signer())
	if signer == nil {
		return nil, fmt.Errorf("%w: %q is signed by %s, not by identity %q (substituted?)", ErrRefused, info.Name, b.Signer(), k.Name)
	}
	id := k.ByExchange(b.Recipient())
	if id == nil {
		return nil, fmt.Errorf("%w: %q is not wrapped to identity %q", ErrRefused, info.Name, k.Name)
	}
	key, err := keyblob.Import(b, id, &keyblob.ImportOptions{Verify: signer.Recipient()})
	if err != nil {
		return nil, fmt.Errorf("%w: %q failed verification: it was modified (%w)", ErrRefused, info.Name, err)
	}
	return key, nil
}

// Keys lists the stored keys, by name. The identities are read once, not
// once per key.
func (s *Store) Keys() ([]*KeyInfo, error) {
	names, err := s.list(keysDir, keyExt)
	if err != nil {
		return nil, err
	}
	ids, err := s.Identities()
	if err != nil {
		return nil, err
	}
	var out []*KeyInfo
	for _, name := range names {
		info, err := s.readKey(name)
		if err != nil {
			return nil, err
		}
		info.Owner = ownerOf(info.Blob.Recipient(), ids)
		out = append(out, info)
	}
	return out, nil
}

// RemoveKey deletes a stored key.
func (s *Store) RemoveKey(name string) error {
	path, err := s.path(keysDir, name, keyExt)
	if err != nil {
		return err
	}
	if _, err := s.Key(name); errors.Is(err, ErrNotFound) {
		return err
	}
	return s.withLock(func() error { return atomicfile.Remove(path) })
}

// keysOf lists the stored keys wrapped to any generation of an identity.
func (s *Store) keysOf(info *IdentityInfo) ([]string, error) {
	keys, err := s.Keys()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, k := range keys {
		if k.Owner == info.Name {
			names = append(names, k.Name)
		}
	}
	return names, nil
}

// Rotate adds a new generation of the same kind to a stored identity, keeps
// the old ones (to open old data), and re-wraps every stored key of the
// identity to the new exchange key, signed by the new signature key. It
// returns the new identity and the names of the keys re-wrapped. If it is
// interrupted, keys not yet re-wrapped still open with the old generation,
// and running Rotate's re-wrap again (RewrapKeys) finishes the job.
func (s *Store) Rotate(name string, passphrase []byte) (*keyblob.Identity, []string, error) {
	si, k, err := s.unlock(name, passphrase)
	if err != nil {
		return nil, nil, err
	}
	if len(k.Identities) >= maxGenerations {
		return nil, nil, fmt.Errorf("identity %q already has %d generations", name, maxGenerations)
	}
	id, err := keyblob.GenerateIdentity(k.Current().Kind())
	if err != nil {
		return nil, nil, fmt.Errorf("identity %q of kind %s cannot be rotated: %w", name, k.Current().Kind(), err)
	}
	k.Identities = append(k.Identities, id)
	k.Created = append(k.Created, time.Now().UTC().Truncate(time.Second))
	if err := s.writeKeyring(k, passphrase, si.raw); err != nil {
		return nil, nil, err
	}
	rewrapped, err := s.RewrapKeys(k)
	return id, rewrapped, err
}

// RewrapKeys re-wraps to the keyring's current generation every stored key
// that is wrapped to one of its older generations, after verifying it. A
// key replaced or removed by another process while it runs is left as that
// process made it.
func (s *Store) RewrapKeys(k *Keyring) ([]string, error) {
	if err := s.holds(k); err != nil {
		return nil, err
	}
	keys, err := s.Keys()
	if err != nil {
		return nil, err
	}
	cur := k.Current()
	var done []string
	for _, info := range keys {
		if info.Owner != k.Name || info.Blob.Recipient().Equal(cur.Recipient().ExchangeFingerprint()) {
			continue
		}
		key, err := openKey(info, k)
		if err != nil {
			return done, err
		}
		blob, err := exportKey(key, k, info.Description, info.Created) // keeps its date
		if err != nil {
			return done, err
		}
		path, _ := s.path(keysDir, info.Name, keyExt)
		e := entry{path: path, what: "key", name: info.Name, mode: 0o600}
		err = s.replaceEntry(e, blob.Marshal(), info.raw)
		if errors.Is(err, errChanged) {
			continue
		}
		if err != nil {
			return done, err
		}
		done = append(done, info.Name)
	}
	return done, nil
}
