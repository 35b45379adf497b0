package keystore

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/atomicfile"
)

// The generation record (spec/keystore.md 4.6) is a second, public copy of
// the fingerprints of an identity's generations, in identities/NAME.gens.
// Every write of the identity writes it too. An identity file that lacks a
// recorded generation was rolled back: an older copy was put in place after
// a rotation, which would silently revert -r NAME, -s NAME and --from NAME
// to a generation the user rotated away from.
const (
	generationsExt    = ".gens"
	generationsHeader = "keyblob generation record v1 "
)

// ErrRolledBack is returned when a stored identity lacks a generation its
// generation record holds, or differs from it.
var ErrRolledBack = errors.New("identity file rolled back?")

// encodeGenerations is the record of a keyring: the header line with the
// quoted name, then one recipient fingerprint per generation, oldest first.
func encodeGenerations(k *Keyring) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "%s%q\n", generationsHeader, k.Name)
	for _, id := range k.Identities {
		fmt.Fprintf(&b, "%s\n", id.Recipient().Fingerprint())
	}
	return []byte(b.String())
}

// decodeGenerations parses a record strictly: only what encodeGenerations
// writes is accepted.
func decodeGenerations(data []byte, name string) ([]keyblob.Fingerprint, error) {
	lines := strings.Split(string(data), "\n")
	if len(lines) < 3 || len(lines) > maxGenerations+2 || lines[len(lines)-1] != "" ||
		lines[0] != fmt.Sprintf("%s%q", generationsHeader, name) {
		return nil, fmt.Errorf("generation record of %q: %w", name, keyblob.ErrMalformed)
	}
	var fps []keyblob.Fingerprint
	for _, line := range lines[1 : len(lines)-1] {
		fp, err := keyblob.ParseFingerprint(line)
		if err != nil || fp.String() != line {
			return nil, fmt.Errorf("generation record of %q: %w fingerprint %q", name, keyblob.ErrMalformed, line)
		}
		fps = append(fps, fp)
	}
	return fps, nil
}

// readGenerations returns the recorded generations of an identity, or nil
// if it has no record (a store written by an older keyblob, or a writer
// that died between the identity and its record).
func (s *Store) readGenerations(name string) ([]keyblob.Fingerprint, error) {
	path, err := s.path(identitiesDir, name, generationsExt)
	if err != nil {
		return nil, err
	}
	data, err := readEntry(path, "generation record", name)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeGenerations(data, name)
}

// checkGenerations fails with ErrRolledBack unless every recorded
// generation is the generation of the same index in info. A record shorter
// than the file is accepted: a writer may have died between the two.
func (s *Store) checkGenerations(info *IdentityInfo) error {
	recorded, err := s.readGenerations(info.Name)
	if err != nil {
		return err
	}
	idPath, _ := s.path(identitiesDir, info.Name, identityExt)
	for i, fp := range recorded {
		switch {
		case i >= len(info.Generations):
			return fmt.Errorf("%w %s has %d generation(s), but the store recorded %d (the last %s): an older copy may have been restored after 'id rotate'",
				ErrRolledBack, idPath, len(info.Generations), len(recorded), recorded[len(recorded)-1])
		case !info.Generations[i].Recipient.Fingerprint().Equal(fp):
			return fmt.Errorf("%w %s: its generation %d is %s, but the store recorded %s: it was replaced or rolled back",
				ErrRolledBack, idPath, i+1, info.Generations[i].Recipient.Fingerprint(), fp)
		}
	}
	return nil
}

// writeGenerations writes the record of a keyring. The caller holds the
// lock and has just written the identity file.
func (s *Store) writeGenerations(k *Keyring) error {
	path, err := s.path(identitiesDir, k.Name, generationsExt)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, encodeGenerations(k), 0o600)
}

// removeGenerations removes an identity's record, if any. The caller holds
// the lock.
func (s *Store) removeGenerations(name string) error {
	path, err := s.path(identitiesDir, name, generationsExt)
	if err != nil {
		return err
	}
	if _, err := os.Lstat(path); err != nil {
		return nil // nothing to remove
	}
	return atomicfile.Remove(path)
}
