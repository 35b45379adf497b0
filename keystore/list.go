package keystore

import (
	"errors"

	"github.com/keyblob/keyblob"
)

// An IdentityEntry is one stored identity as a listing reads it, without
// its passphrase: its public part, or why that cannot be read.
type IdentityEntry struct {
	Name string
	Info *IdentityInfo // nil when Err is set
	// Err says why the entry is damaged: its file is unreadable or
	// malformed, its generation record is malformed, or it was rolled
	// back (ErrRolledBack).
	Err error
}

// A ContactEntry is one contact as a listing reads it: the contact, or why
// it cannot be read.
type ContactEntry struct {
	Name    string
	Contact *Contact // nil when Err is set
	Err     error    // why the entry is damaged
}

// IdentityEntries lists every stored identity, by name. Unlike Identities,
// an identity that cannot be read does not fail the listing: it is listed
// with its error. An identity removed while the listing runs is left out.
func (s *Store) IdentityEntries() ([]IdentityEntry, error) {
	names, err := s.list(identitiesDir, identityExt)
	if err != nil {
		return nil, err
	}
	var out []IdentityEntry
	for _, name := range names {
		info, err := s.Identity(name)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		out = append(out, IdentityEntry{Name: name, Info: info, Err: err})
	}
	return out, nil
}

// ContactEntries lists every contact, by name, as IdentityEntries lists
// identities: a contact that cannot be read is listed with its error.
func (s *Store) ContactEntries() ([]ContactEntry, error) {
	names, err := s.list(contactsDir, contactExt)
	if err != nil {
		return nil, err
	}
	var out []ContactEntry
	for _, name := range names {
		c, err := s.Contact(name)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		out = append(out, ContactEntry{Name: name, Contact: c, Err: err})
	}
	return out, nil
}

// HasExchange reports whether a generation of the identity has the
// exchange key of fingerprint fp: whether it can open what is wrapped to
// fp.
func (i *IdentityInfo) HasExchange(fp keyblob.Fingerprint) bool {
	for _, g := range i.Generations {
		if g.Recipient.CanExchange() && g.Recipient.ExchangeFingerprint().Equal(fp) {
			return true
		}
	}
	return false
}

// HasSigning reports whether a generation of the identity has the
// signature key of fingerprint fp: whether it made what fp signed.
func (i *IdentityInfo) HasSigning(fp keyblob.Fingerprint) bool {
	for _, g := range i.Generations {
		if g.Recipient.CanVerify() && g.Recipient.SigningFingerprint().Equal(fp) {
			return true
		}
	}
	return false
}

// Signers returns the names of the contacts and stored identities (of any
// generation) whose signature key has fingerprint fp, contacts first, each
// by name. It reads only public parts; entries that cannot be read are
// skipped.
func (s *Store) Signers(fp keyblob.Fingerprint) ([]string, error) {
	contacts, err := s.ContactEntries()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, c := range contacts {
		if c.Err == nil && c.Contact.Recipient.CanVerify() && c.Contact.Recipient.SigningFingerprint().Equal(fp) {
			names = append(names, c.Name)
		}
	}
	ids, err := s.IdentityEntries()
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if id.Err == nil && id.Info.HasSigning(fp) {
			names = append(names, id.Name)
		}
	}
	return names, nil
}
