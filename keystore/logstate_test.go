package keystore

import (
	"bytes"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyblob/keyblob"
)

// testCheckpoint is a signed note as the authority's log serves one: the
// origin, the size, the root hash, an empty line, a signature line.
const testCheckpoint = "keyblob.example/log\n42\nq8W3Rx7b+1kBx6aJ0VmUX2lV3CkYp8bJm1gkUu1mZ6s=\n\n— keyblob.example/log AAAAAQ==\n"

// fpA and fpB are two fingerprints, fpA's text sorting before fpB's.
var (
	fpA = keyblob.Fingerprint{0x01}
	fpB = keyblob.Fingerprint{0x04}
)

// newAuthorityStore makes a store holding the authority "backup".
func newAuthorityStore(t *testing.T) *Store {
	t.Helper()
	s := newStore(t)
	if err := s.AddAuthority("backup", "http://127.0.0.1:8080", authorityRecipient(t), nil); err != nil {
		t.Fatal(err)
	}
	return s
}

// logStateFile is the log state file of the authority "backup".
func logStateFile(s *Store) string {
	return filepath.Join(s.Dir(), authoritiesDir, "backup"+logStateExt)
}

// sameLogState reports whether two states hold the same memory.
func sameLogState(a, b *LogState) bool {
	return bytes.Equal(a.Checkpoint, b.Checkpoint) && a.Seen.Equal(b.Seen) && maps.Equal(a.Watched, b.Watched)
}

// setLogState stores st as the state of "backup".
func setLogState(t *testing.T, s *Store, st *LogState) {
	t.Helper()
	err := s.UpdateLogState("backup", func(cur *LogState) error {
		*cur = *st
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestLogStateRoundTrip stores states and reads them back: the same
// memory, a UTC time, a non-nil map, and a file that decodes and encodes
// to the same bytes.
func TestLogStateRoundTrip(t *testing.T) {
	seen := time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.FixedZone("CET", 3600))
	tests := []struct {
		name string
		st   LogState
	}{
		{"empty", LogState{Watched: map[keyblob.Fingerprint]uint64{}}},
		{"checkpoint only", LogState{Checkpoint: []byte(testCheckpoint), Seen: seen}},
		{"watches only", LogState{Watched: map[keyblob.Fingerprint]uint64{fpB: 0, fpA: 18446744073709551615}}},
		{"first year", LogState{Checkpoint: []byte("x\n"), Seen: time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{"last instant", LogState{Checkpoint: []byte("x\n"), Seen: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)}},
		{"both", LogState{Checkpoint: []byte("x\n"), Seen: time.Unix(1, 0), Watched: map[keyblob.Fingerprint]uint64{fpA: 7}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newAuthorityStore(t)
			setLogState(t, s, &tt.st)
			got, err := s.LogState("backup")
			if err != nil {
				t.Fatal(err)
			}
			if !sameLogState(got, &tt.st) || got.Watched == nil || got.Seen.Location() != time.UTC {
				t.Errorf("read back %+v, want %+v", got, tt.st)
			}
			data, err := os.ReadFile(logStateFile(s))
			if errors.Is(err, fs.ErrNotExist) && len(tt.st.Watched) == 0 && tt.st.Checkpoint == nil {
				return // the zero state is not written
			}
			if err != nil {
				t.Fatal(err)
			}
			st, err := decodeLogState(data)
			if err != nil {
				t.Fatal(err)
			}
			if again, err := encodeLogState(st); err != nil || !bytes.Equal(again, data) {
				t.Errorf("file %q encodes back as %q, %v", data, again, err)
			}
		})
	}
}

// TestLogStateEncoding pins the file of a state with everything in it.
func TestLogStateEncoding(t *testing.T) {
	st := &LogState{
		Checkpoint: []byte(testCheckpoint),
		Seen:       time.Date(2025, 3, 4, 5, 6, 7, 120000000, time.UTC),
		Watched:    map[keyblob.Fingerprint]uint64{fpB: 10, fpA: 3},
	}
	want := "seen 2025-03-04T05:06:07.12Z\n" +
		"watch " + fpA.String() + " 3\n" +
		"watch " + fpB.String() + " 10\n" +
		"\n" + testCheckpoint
	got, err := encodeLogState(st)
	if err != nil || string(got) != want {
		t.Errorf("encodeLogState = %q, %v; want %q", got, err, want)
	}
}

// TestLogStateMalformed plants damaged files and checks that each is
// refused as malformed.
func TestLogStateMalformed(t *testing.T) {
	a, b := fpA.String(), fpB.String()
	seen := "seen 2025-03-04T05:06:07.5Z\n"
	good := seen + "watch " + a + " 1\n\n" + testCheckpoint
	if _, err := decodeLogState([]byte(good)); err != nil {
		t.Fatalf("the good file is refused: %v", err)
	}
	tests := []struct{ name, data string }{
		{"empty file", ""},
		{"no empty line", "watch " + a + " 1\n"},
		{"no newline", "watch " + a + " 1"},
		{"CR in header", "watch " + a + " 1\r\n\n"},
		{"CR in checkpoint", seen + "\nx\r\n"},
		{"checkpoint without newline", seen + "\nx"},
		{"trailing junk", good + "junk"},
		{"seen without checkpoint", seen + "\n"},
		{"checkpoint without seen", "\n" + testCheckpoint},
		{"seen after watch", "watch " + a + " 1\n" + seen + "\nx\n"},
		{"two seen lines", seen + seen + "\nx\n"},
		{"seen not UTC", "seen 2025-03-04T06:06:07.5+01:00\n\nx\n"},
		{"seen +00:00", "seen 2025-03-04T05:06:07.5+00:00\n\nx\n"},
		{"seen lower-case z", "seen 2025-03-04T05:06:07.5z\n\nx\n"},
		{"seen trailing zero", "seen 2025-03-04T05:06:07.50Z\n\nx\n"},
		{"seen zero fraction", "seen 2025-03-04T05:06:07.0Z\n\nx\n"},
		{"seen zero time", "seen 0001-01-01T00:00:00Z\n\nx\n"},
		{"seen not a time", "seen yesterday\n\nx\n"},
		{"seen two spaces", "seen  2025-03-04T05:06:07Z\n\nx\n"},
		{"leading zero", "watch " + a + " 01\n\n"},
		{"plus sign", "watch " + a + " +1\n\n"},
		{"minus sign", "watch " + a + " -1\n\n"},
		{"overflow", "watch " + a + " 18446744073709551616\n\n"},
		{"no number", "watch " + a + "\n\n"},
		{"empty number", "watch " + a + " \n\n"},
		{"two spaces", "watch " + a + "  1\n\n"},
		{"extra field", "watch " + a + " 1 2\n\n"},
		{"hex number", "watch " + a + " 0x1\n\n"},
		{"bad fingerprint", "watch " + a[:len(a)-1] + " 1\n\n"},
		{"fingerprint without prefix", "watch " + strings.TrimPrefix(a, "SHA256:") + " 1\n\n"},
		{"unsorted", "watch " + b + " 1\nwatch " + a + " 1\n\n"},
		{"duplicate", "watch " + a + " 1\nwatch " + a + " 2\n\n"},
		{"unknown line", "note hello\n\n"},
		{"leading empty line", "\n" + good},
		{"too large", "\n" + strings.Repeat("x", maxLogState) + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newAuthorityStore(t)
			if err := os.WriteFile(logStateFile(s), []byte(tt.data), 0o600); err != nil {
				t.Fatal(err)
			}
			if st, err := s.LogState("backup"); !errors.Is(err, keyblob.ErrMalformed) {
				t.Errorf("LogState of %q = %+v, %v; want ErrMalformed", tt.data, st, err)
			}
			called := false
			err := s.UpdateLogState("backup", func(*LogState) error { called = true; return nil })
			if !errors.Is(err, keyblob.ErrMalformed) || called {
				t.Errorf("UpdateLogState over a malformed file: %v (f called: %v)", err, called)
			}
		})
	}
}

// TestUpdateLogStateAborted checks that an error of f, or a state that
// cannot be stored, writes nothing.
func TestUpdateLogStateAborted(t *testing.T) {
	s := newAuthorityStore(t)
	boom := errors.New("boom")
	err := s.UpdateLogState("backup", func(st *LogState) error {
		st.Watched[fpA] = 1
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("UpdateLogState = %v, want f's error", err)
	}
	if _, err := os.Lstat(logStateFile(s)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("an aborted first update made a file: %v", err)
	}
	setLogState(t, s, &LogState{Checkpoint: []byte(testCheckpoint), Seen: time.Unix(1e9, 0), Watched: map[keyblob.Fingerprint]uint64{fpA: 5}})
	before, err := os.ReadFile(logStateFile(s))
	if err != nil {
		t.Fatal(err)
	}
	refused := []func(*LogState) error{
		func(st *LogState) error { st.Watched[fpB] = 9; st.Checkpoint = nil; return boom },
		func(st *LogState) error { st.Seen = time.Time{}; return nil },
		func(st *LogState) error { st.Checkpoint = nil; return nil },
		func(st *LogState) error { st.Checkpoint = []byte("no newline"); return nil },
		func(st *LogState) error { st.Checkpoint = []byte("cr\r\n"); return nil },
		func(st *LogState) error { st.Seen = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC); return nil },
		func(st *LogState) error { st.Checkpoint = bytes.Repeat([]byte("x\n"), maxLogState/2); return nil },
	}
	for i, f := range refused {
		if err := s.UpdateLogState("backup", f); err == nil {
			t.Errorf("update %d was accepted", i)
		}
		if after, err := os.ReadFile(logStateFile(s)); err != nil || !bytes.Equal(after, before) {
			t.Errorf("update %d changed the file to %q (%v)", i, after, err)
		}
	}
}

// TestLogStateFileMode checks the mode of the file and that no temporary
// file is left beside it.
func TestLogStateFileMode(t *testing.T) {
	s := newAuthorityStore(t)
	for i := range 2 { // a creation, then a replacement
		setLogState(t, s, &LogState{Watched: map[keyblob.Fingerprint]uint64{fpA: uint64(i)}})
		st, err := os.Stat(logStateFile(s))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("log state file: %v, mode %v", err, st.Mode())
		}
	}
	names, err := filepath.Glob(filepath.Join(s.Dir(), authoritiesDir, "*"))
	if err != nil || len(names) != 2 {
		t.Errorf("authorities directory holds %q (%v), want the .auth and the .log", names, err)
	}
}

// TestLogStateDropped checks that removing or replacing an authority drops
// its state, that a failed add keeps it, that a state left by a removed
// authority is not inherited, and that listing ignores state files.
func TestLogStateDropped(t *testing.T) {
	s := newAuthorityStore(t)
	watched := &LogState{Watched: map[keyblob.Fingerprint]uint64{fpA: 3}}
	setLogState(t, s, watched)
	if all, err := s.Authorities(); err != nil || len(all) != 1 || all[0].Name != "backup" {
		t.Errorf("Authorities beside a log state: %v, %v", all, err)
	}
	r := authorityRecipient(t)
	if err := s.AddAuthority("backup", "http://127.0.0.1:1", r, nil); !errors.Is(err, ErrExists) {
		t.Fatalf("add without Replace: %v", err)
	}
	if st, err := s.LogState("backup"); err != nil || !sameLogState(st, watched) {
		t.Errorf("a refused add changed the state: %+v, %v", st, err)
	}
	if err := s.AddAuthority("backup", "http://127.0.0.1:1", r, &AuthorityOptions{Replace: true}); err != nil {
		t.Fatal(err)
	}
	checkNoLogState(t, s, "after replace")

	// The same key at another URL: the authority moved, its log is the
	// same, and the state is kept.
	setLogState(t, s, watched)
	if err := s.AddAuthority("backup", "http://127.0.0.1:3", r, &AuthorityOptions{Replace: true}); err != nil {
		t.Fatal(err)
	}
	if st, err := s.LogState("backup"); err != nil || !sameLogState(st, watched) {
		t.Errorf("a move to another URL dropped the state: %+v, %v", st, err)
	}
	if err := s.RemoveAuthority("backup"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(logStateFile(s)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("RemoveAuthority left the state: %v", err)
	}

	// A state left behind (by an older keyblob, or a writer killed
	// between the two removals) is not inherited by a new authority.
	if err := os.WriteFile(logStateFile(s), []byte("watch "+fpA.String()+" 1\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.AddAuthority("backup", "http://127.0.0.1:2", r, nil); err != nil {
		t.Fatal(err)
	}
	checkNoLogState(t, s, "after a new add")
	if err := s.RemoveAuthority("backup"); err != nil {
		t.Errorf("RemoveAuthority without a state: %v", err)
	}
}

// checkNoLogState checks that "backup" has the zero state and no file.
func checkNoLogState(t *testing.T, s *Store, when string) {
	t.Helper()
	if _, err := os.Lstat(logStateFile(s)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s: the state file is still there (%v)", when, err)
	}
	if st, err := s.LogState("backup"); err != nil || st.Checkpoint != nil || len(st.Watched) != 0 {
		t.Errorf("%s: state %+v, %v", when, st, err)
	}
}

// TestLogStateUnknownAuthority checks that a state is neither read nor
// written for an authority that is not stored, or a bad name.
func TestLogStateUnknownAuthority(t *testing.T) {
	s := newAuthorityStore(t)
	for _, tt := range []struct {
		name string
		want error
	}{{"other", ErrNotFound}, {"../backup", ErrBadName}, {".backup", ErrBadName}} {
		if _, err := s.LogState(tt.name); !errors.Is(err, tt.want) {
			t.Errorf("LogState(%q) = %v, want %v", tt.name, err, tt.want)
		}
		called := false
		err := s.UpdateLogState(tt.name, func(st *LogState) error { called = true; st.Watched[fpA] = 1; return nil })
		if !errors.Is(err, tt.want) || called {
			t.Errorf("UpdateLogState(%q) = %v (f called: %v), want %v", tt.name, err, called, tt.want)
		}
	}
	if _, err := os.Lstat(filepath.Join(s.Dir(), authoritiesDir, "other"+logStateExt)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a state was written for an unknown authority: %v", err)
	}
	// A contact or identity of the name is not an authority.
	if err := s.AddContact("bob", authorityRecipient(t), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LogState("bob"); !errors.Is(err, ErrNotFound) {
		t.Errorf("LogState of a contact's name: %v", err)
	}
}

// TestUpdateLogStateConcurrent runs updates from goroutines, each through
// its own Store value as separate processes would, and checks that none
// is lost.
func TestUpdateLogStateConcurrent(t *testing.T) {
	s := newAuthorityStore(t)
	const workers, rounds = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := range workers {
		fp := keyblob.Fingerprint{byte(w)}
		other, err := Open(s.Dir(), testOptions)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			for range rounds {
				errs <- other.UpdateLogState("backup", func(st *LogState) error {
					st.Watched[fp]++
					st.Watched[fpB]++
					return nil
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	st, err := s.LogState("backup")
	if err != nil {
		t.Fatal(err)
	}
	for w := range workers {
		if got := st.Watched[keyblob.Fingerprint{byte(w)}]; got != rounds {
			t.Errorf("worker %d: %d updates kept, want %d", w, got, rounds)
		}
	}
	if got := st.Watched[fpB]; got != workers*rounds {
		t.Errorf("shared counter: %d, want %d", got, workers*rounds)
	}
}
