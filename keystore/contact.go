package keystore

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/atomicfile"
)

const contactExt = ".rcpt"

// A Contact is a named recipient. Contacts are not encrypted or signed:
// they are as trustworthy as the disk the store is on.
type Contact struct {
	Name      string
	Recipient *keyblob.Recipient
	// Chain, for a contact added by a certificate, is the chain it was
	// verified with, leaf first, to the trusted CA; nil otherwise. The
	// store keeps it as it is: verifying it when the contact is used is
	// the caller's work.
	Chain []*x509.Certificate
	// CA is the entry name of the stored CA (Store.CA) the chain was
	// verified against, or "" (a CA file, or no chain).
	CA string
}

// ContactOptions say how AddContact stores a contact. The zero value, or
// nil, creates a new contact.
type ContactOptions struct {
	// Replace replaces an existing contact of the name; without it, the
	// name must be free (ErrExists).
	Replace bool
}

// AddContact stores a recipient under name. Even with Replace, the name
// must not be the name of a stored identity (ErrExists), checked under the
// lock: contacts and identities share one name space, so that -r NAME
// means one thing.
func (s *Store) AddContact(name string, r *keyblob.Recipient, opts *ContactOptions) error {
	return s.SaveContact(&Contact{Name: name, Recipient: r}, opts)
}

// SaveContact stores c under c.Name, as AddContact does, with its chain
// and CA name, which must pass CheckContact (ErrNotCertified otherwise).
func (s *Store) SaveContact(c *Contact, opts *ContactOptions) error {
	name := c.Name
	path, err := s.path(contactsDir, name, contactExt)
	if err != nil {
		return err
	}
	if err := CheckContact(c); err != nil {
		return err
	}
	return s.writeEntry(write{
		entry:   entry{path: path, what: "contact", name: name, mode: 0o644},
		data:    encodeContact(c),
		replace: opts != nil && opts.Replace,
		check:   func() error { return s.checkNotHeld(name, KindIdentity) },
	})
}

// Contact returns a stored contact, read strictly (spec/keystore.md
// section 5).
func (s *Store) Contact(name string) (*Contact, error) {
	path, err := s.path(contactsDir, name, contactExt)
	if err != nil {
		return nil, err
	}
	data, err := readEntryMax(path, "contact", name, maxContactSize)
	if err != nil {
		return nil, err
	}
	c, err := decodeContact(data, name)
	if err != nil {
		return nil, fmt.Errorf("contact %q: %w", name, err)
	}
	return c, nil
}

// Contacts lists the stored contacts, by name.
func (s *Store) Contacts() ([]*Contact, error) {
	names, err := s.list(contactsDir, contactExt)
	if err != nil {
		return nil, err
	}
	var out []*Contact
	for _, name := range names {
		c, err := s.Contact(name)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// RemoveContact deletes a stored contact, even one whose file is damaged.
func (s *Store) RemoveContact(name string) error {
	held, err := s.exists(contactsDir, name, contactExt)
	switch {
	case err != nil:
		return err
	case !held:
		return fmt.Errorf("%w: contact %q", ErrNotFound, name)
	}
	path, _ := s.path(contactsDir, name, contactExt)
	return s.withLock(func() error { return atomicfile.Remove(path) })
}

// Recipient resolves a name to a recipient: the contact of that name, or
// the current generation of the stored identity of that name.
func (s *Store) Recipient(name string) (*keyblob.Recipient, error) {
	rs, err := s.Senders(name)
	if err != nil {
		return nil, err
	}
	return rs[0], nil
}

// Senders resolves a name to every key that may have signed as it: a
// contact, or all generations of a stored identity, newest first. A name
// held by both a contact and an identity (a store written by an older
// keyblob, or by someone else) is refused rather than resolved either way.
func (s *Store) Senders(name string) ([]*keyblob.Recipient, error) {
	kind, err := s.Holder(name)
	switch {
	case err != nil:
		return nil, err
	case kind == "":
		return nil, fmt.Errorf("%w: no contact or identity %q", ErrNotFound, name)
	case kind == KindContact:
		c, err := s.Contact(name)
		if err != nil {
			return nil, err
		}
		return []*keyblob.Recipient{c.Recipient}, nil
	}
	info, err := s.Identity(name)
	if err != nil {
		return nil, err
	}
	var rs []*keyblob.Recipient
	for i := len(info.Generations) - 1; i >= 0; i-- {
		rs = append(rs, info.Generations[i].Recipient)
	}
	return rs, nil
}

// The kinds of entry that share one name space.
const (
	KindIdentity = "identity"
	KindContact  = "contact"
)

// ErrNameClash is returned when one name is held by both a contact and an
// identity, which the store never makes: another program, or someone who
// can write the store, did.
var ErrNameClash = errors.New("a contact and an identity have the same name")

// Holder reports which entry holds name in the name space that contacts
// and identities share: KindIdentity, KindContact, or "" for none. It reads
// no file, only looks for it; a name held by both is ErrNameClash.
func (s *Store) Holder(name string) (string, error) {
	id, err := s.exists(identitiesDir, name, identityExt)
	if err != nil {
		return "", err
	}
	ct, err := s.exists(contactsDir, name, contactExt)
	switch {
	case err != nil:
		return "", err
	case id && ct:
		return "", fmt.Errorf("%w: %q", ErrNameClash, name)
	case id:
		return KindIdentity, nil
	case ct:
		return KindContact, nil
	}
	return "", nil
}

// exists reports whether an entry's file exists.
func (s *Store) exists(sub, name, ext string) (bool, error) {
	path, err := s.path(sub, name, ext)
	if err != nil {
		return false, err
	}
	_, err = os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// checkNotHeld fails with ErrExists if an entry of the other kind holds
// name. Writers call it under the lock.
func (s *Store) checkNotHeld(name, other string) error {
	sub, ext := identitiesDir, identityExt
	if other == KindContact {
		sub, ext = contactsDir, contactExt
	}
	held, err := s.exists(sub, name, ext)
	if err != nil || !held {
		return err
	}
	return fmt.Errorf("%w: %s %q (contacts and identities share one name space)", ErrExists, other, name)
}
