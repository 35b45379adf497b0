package keystore

import (
	"errors"
	"fmt"
	"strings"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/atomicfile"
)

const contactExt = ".rcpt"

// A Contact is a named recipient. Contacts are not encrypted or signed:
// they are as trustworthy as the disk the store is on.
type Contact struct {
	Name      string
	Recipient *keyblob.Recipient
}

// AddContact stores a recipient under name. Unless replace is set, the
// name must be free.
func (s *Store) AddContact(name string, r *keyblob.Recipient, replace bool) error {
	path, err := s.path(contactsDir, name, contactExt)
	if err != nil {
		return err
	}
	return s.writeEntry(path, []byte(r.String()+"\n"), 0o644, replace, "contact", name)
}

// Contact returns a stored contact.
func (s *Store) Contact(name string) (*Contact, error) {
	path, err := s.path(contactsDir, name, contactExt)
	if err != nil {
		return nil, err
	}
	data, err := readEntry(path, "contact", name)
	if err != nil {
		return nil, err
	}
	r, err := keyblob.ParseRecipientLine(strings.TrimSuffix(string(data), "\n"))
	if err != nil {
		return nil, fmt.Errorf("keystore: contact %q: %w", name, err)
	}
	return &Contact{Name: name, Recipient: r}, nil
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

// RemoveContact deletes a stored contact.
func (s *Store) RemoveContact(name string) error {
	if _, err := s.Contact(name); err != nil {
		return err
	}
	path, _ := s.path(contactsDir, name, contactExt)
	return s.withLock(func() error { return atomicfile.Remove(path) })
}

// Recipient resolves a name to a recipient: a contact, or else the current
// generation of a stored identity.
func (s *Store) Recipient(name string) (*keyblob.Recipient, error) {
	c, err := s.Contact(name)
	if err == nil {
		return c.Recipient, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	info, err := s.Identity(name)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("%w: no contact or identity %q", ErrNotFound, name)
		}
		return nil, err
	}
	return info.Current().Recipient, nil
}

// Senders resolves a name to every key that may have signed as it: a
// contact, or all generations of a stored identity, newest first.
func (s *Store) Senders(name string) ([]*keyblob.Recipient, error) {
	if c, err := s.Contact(name); err == nil {
		return []*keyblob.Recipient{c.Recipient}, nil
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	info, err := s.Identity(name)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("%w: no contact or identity %q", ErrNotFound, name)
		}
		return nil, err
	}
	var rs []*keyblob.Recipient
	for i := len(info.Generations) - 1; i >= 0; i-- {
		rs = append(rs, info.Generations[i].Recipient)
	}
	return rs, nil
}
