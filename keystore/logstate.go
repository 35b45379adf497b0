package keystore

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/atomicfile"
	"github.com/keyblob/keyblob/internal/format"
)

// The log state of an authority (spec/keystore.md section 5.2) is what the
// client remembers of the authority's transparency log, in
// authorities/NAME.log beside NAME.auth: the newest checkpoint it verified,
// so that it can demand that the next one extends it, and how far it has
// read the audit entries of the owners it watches.
const (
	logStateExt = ".log"
	// maxLogState bounds a log state file, read or written.
	maxLogState = 64 << 10
	seenPrefix  = "seen "
	watchPrefix = "watch "
)

// LogState is what a client remembers of one authority's transparency log.
// The zero state (no checkpoint, nothing watched) is what a client starts
// from. Checkpoint and Seen go together: a state with one must have the
// other.
type LogState struct {
	Checkpoint []byte                         // the newest signed checkpoint note verified, verbatim; nil if none
	Seen       time.Time                      // when Checkpoint was first seen (UTC)
	Watched    map[keyblob.Fingerprint]uint64 // owner -> sequence number of the last audit entry reported
}

// newLogState returns the zero state, with an empty, non-nil map.
func newLogState() *LogState {
	return &LogState{Watched: map[keyblob.Fingerprint]uint64{}}
}

// LogState returns the log state stored for the authority name, or the
// zero state (a nil Checkpoint and an empty, non-nil Watched) if none is
// stored. It fails with ErrNotFound if there is no such authority, and
// with an error wrapping keyblob.ErrMalformed if the file is not exactly
// what UpdateLogState writes. It takes no lock: the file is replaced
// whole.
func (s *Store) LogState(name string) (*LogState, error) {
	path, err := s.logStatePath(name)
	if err != nil {
		return nil, err
	}
	st, _, err := readLogState(path, name)
	return st, err
}

// UpdateLogState changes the log state of the authority name: under the
// store's lock it reads the state (the zero state if none is stored),
// passes it to f, and writes what f left, atomically with mode 0600. If f
// returns an error, nothing is written and UpdateLogState returns that
// error as it is; if f leaves the state as it was, nothing is written
// either. A state that cannot be stored (a checkpoint without a Seen time
// or the reverse, a checkpoint that holds a CR or does not end with a
// newline, a Seen year outside 0 to 9999, more than 64 KiB in all) is
// refused, and nothing is written. It fails with ErrNotFound if there is
// no such authority.
//
// f runs holding the lock, which is not reentrant: it must not write to
// the store. Concurrent updates, by goroutines or processes, are
// serialized, so none is lost.
func (s *Store) UpdateLogState(name string, f func(*LogState) error) error {
	if err := CheckName(name); err != nil {
		return err
	}
	return s.withLock(func() error {
		// The authority is checked under the lock, so that no state is
		// written for an authority another writer has just removed.
		path, err := s.logStatePath(name)
		if err != nil {
			return err
		}
		st, old, err := readLogState(path, name)
		if err != nil {
			return err
		}
		if err := f(st); err != nil {
			return err
		}
		data, err := encodeLogState(st)
		if err != nil {
			return fmt.Errorf("log state of authority %q: %w", name, err)
		}
		if bytes.Equal(data, old) {
			return nil
		}
		return atomicfile.WriteFile(path, data, 0o600)
	})
}

// logStatePath returns the log state file of an authority, failing with
// ErrNotFound if the authority is not stored.
func (s *Store) logStatePath(name string) (string, error) {
	held, err := s.exists(authoritiesDir, name, authorityExt)
	switch {
	case err != nil:
		return "", err
	case !held:
		return "", fmt.Errorf("%w: authority %q", ErrNotFound, name)
	}
	return s.path(authoritiesDir, name, logStateExt)
}

// readLogState reads and decodes a log state file. It also returns the
// bytes the state was read from; for a missing file, the encoding of the
// zero state.
func readLogState(path, name string) (*LogState, []byte, error) {
	data, err := readEntryMax(path, "log state of authority", name, maxLogState)
	switch {
	case errors.Is(err, ErrNotFound):
		return newLogState(), []byte("\n"), nil
	case errors.Is(err, format.ErrTooLarge):
		return nil, nil, fmt.Errorf("authority %q: %w log state file: %w (over %d bytes)", name, keyblob.ErrMalformed, format.ErrTooLarge, maxLogState)
	case err != nil:
		return nil, nil, err
	}
	st, err := decodeLogState(data)
	if err != nil {
		return nil, nil, fmt.Errorf("authority %q: %w", name, err)
	}
	return st, data, nil
}

// dropLogState removes the log state of the authority name, if any, before
// AddAuthority writes its file: a new key or URL makes what the client
// remembered meaningless, and so does a state left behind by a removed
// authority of that name. Without replace, an existing authority is
// ErrExists and its state is kept. The caller holds the lock.
func (s *Store) dropLogState(name string, replace bool, r *keyblob.Recipient) error {
	held, err := s.exists(authoritiesDir, name, authorityExt)
	switch {
	case err != nil:
		return err
	case held && !replace:
		return fmt.Errorf("%w: authority %q", ErrExists, name)
	case held:
		// The log is the key's (its origin names the key): an authority
		// that moved to another URL keeps what the client saw of it.
		if old, err := s.Authority(name); err == nil && old.Recipient.Fingerprint() == r.Fingerprint() {
			return nil
		}
	}
	return s.removeLogState(name)
}

// removeLogState removes the log state of the authority name; a missing
// one is fine. The caller holds the lock.
func (s *Store) removeLogState(name string) error {
	path, err := s.path(authoritiesDir, name, logStateExt)
	if err != nil {
		return err
	}
	if err := atomicfile.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// errLogState is the start of every decoding error.
func errLogState(format string, args ...any) error {
	return fmt.Errorf("%w log state file: %s", keyblob.ErrMalformed, fmt.Sprintf(format, args...))
}

// decodeLogState parses a log state file strictly: only what
// encodeLogState writes is accepted.
func decodeLogState(data []byte) (*LogState, error) {
	switch {
	case len(data) > maxLogState:
		return nil, errLogState("over %d bytes", maxLogState)
	case bytes.IndexByte(data, '\r') >= 0:
		return nil, errLogState("carriage return")
	}
	st := newLogState()
	rest, last := string(data), ""
	for n := 1; ; n++ {
		line, after, ok := strings.Cut(rest, "\n")
		if !ok {
			return nil, errLogState("no empty line after the header")
		}
		rest = after
		var err error
		switch {
		case line == "":
			return st, decodeCheckpoint(st, rest)
		case n == 1 && strings.HasPrefix(line, seenPrefix):
			st.Seen, err = parseSeen(line[len(seenPrefix):])
		case strings.HasPrefix(line, watchPrefix):
			last, err = st.parseWatch(line[len(watchPrefix):], last)
		default:
			err = errors.New("unexpected line")
		}
		if err != nil {
			return nil, errLogState("line %d: %v", n, err)
		}
	}
}

// decodeCheckpoint sets the checkpoint of st, the rest of the file after
// the header, and checks that it goes with the seen line.
func decodeCheckpoint(st *LogState, cp string) error {
	switch {
	case cp != "" && !strings.HasSuffix(cp, "\n"):
		return errLogState("the checkpoint does not end with a newline")
	case (cp != "") != !st.Seen.IsZero():
		return errLogState("a seen line without a checkpoint, or a checkpoint without a seen line")
	}
	if cp != "" {
		st.Checkpoint = []byte(cp)
	}
	return nil
}

// parseSeen parses the time of a seen line: RFC 3339 in UTC, in the one
// spelling time.RFC3339Nano gives it.
func parseSeen(text string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, text)
	if err != nil || !strings.HasSuffix(text, "Z") || t.UTC().Format(time.RFC3339Nano) != text || t.IsZero() {
		return time.Time{}, errors.New("not a canonical RFC 3339 UTC time")
	}
	return t.UTC(), nil
}

// parseWatch parses the rest of a watch line into st.Watched, and returns
// its fingerprint text, which must sort after last, the previous one.
func (st *LogState) parseWatch(text, last string) (string, error) {
	fpText, num, ok := strings.Cut(text, " ")
	fp, err := keyblob.ParseFingerprint(fpText)
	if !ok || err != nil || fp.String() != fpText {
		return "", errors.New("bad fingerprint")
	}
	if last != "" && fpText <= last {
		return "", errors.New("watch lines out of order or repeated")
	}
	seq, err := strconv.ParseUint(num, 10, 64)
	if err != nil || strconv.FormatUint(seq, 10) != num {
		return "", errors.New("not a canonical decimal sequence number")
	}
	st.Watched[fp] = seq
	return fpText, nil
}

// encodeLogState is the file of a state: the seen line if there is a
// checkpoint, the watch lines sorted by fingerprint text, an empty line,
// the checkpoint. It refuses a state decodeLogState would not read back.
func encodeLogState(st *LogState) ([]byte, error) {
	cp := st.Checkpoint
	seen := st.Seen.UTC()
	switch {
	case (len(cp) > 0) != !st.Seen.IsZero():
		return nil, errors.New("a checkpoint needs the time it was seen, and only a checkpoint has one")
	case len(cp) > 0 && (cp[len(cp)-1] != '\n' || bytes.IndexByte(cp, '\r') >= 0):
		return nil, errors.New("a checkpoint must end with a newline and hold no carriage return")
	case len(cp) > 0 && (seen.Year() < 0 || seen.Year() > 9999):
		return nil, errors.New("the time seen is outside RFC 3339's years")
	}
	var b bytes.Buffer
	if len(cp) > 0 {
		b.WriteString(seenPrefix + seen.Format(time.RFC3339Nano) + "\n")
	}
	watches := make([]string, 0, len(st.Watched))
	for fp, seq := range st.Watched {
		watches = append(watches, watchPrefix+fp.String()+" "+strconv.FormatUint(seq, 10)+"\n")
	}
	// The lines differ at the latest in their fingerprints, which all have
	// the same length: sorting the lines sorts the fingerprints.
	slices.Sort(watches)
	for _, w := range watches {
		b.WriteString(w)
	}
	b.WriteByte('\n')
	b.Write(cp)
	if b.Len() > maxLogState {
		return nil, fmt.Errorf("%d bytes, over the %d-byte limit", b.Len(), maxLogState)
	}
	return b.Bytes(), nil
}
