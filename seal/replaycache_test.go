package seal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/replay"
	"github.com/keyblob/keyblob/replay/sqlitecache"
)

var (
	_ ReplayCache = (*sqlitecache.Cache)(nil)
	_ ReplayCache = (*memCache)(nil)
)

// memCache is a second ReplayCache backend, in memory, with exactly the
// documented semantics and nothing more: Record's check-and-insert is
// atomic under a mutex. It logs its calls, and fails every call with
// fail, or with the context's error, if set.
type memCache struct {
	mu      sync.Mutex
	ids     map[string]time.Time
	horizon time.Time
	calls   []string
	fail    error
}

type ctxKey struct{}

func newMemCache() *memCache { return &memCache{ids: map[string]time.Time{}} }

// enter logs a call and returns the error it must fail with, if any. The
// caller holds mu.
func (c *memCache) enter(ctx context.Context, name string, id []byte) error {
	if v, _ := ctx.Value(ctxKey{}).(string); v != "" {
		name += "@" + v
	}
	c.calls = append(c.calls, name)
	if id != nil && len(id) != replay.IDSize {
		return fmt.Errorf("a %d-byte replay id", len(id))
	}
	return errors.Join(c.fail, ctx.Err())
}

func (c *memCache) check(id []byte, created time.Time) error {
	if _, ok := c.ids[string(id)]; ok {
		return replay.ErrReplay
	}
	if created.Before(c.horizon) {
		return replay.ErrTooOld
	}
	return nil
}

func (c *memCache) Check(ctx context.Context, id []byte, created time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.enter(ctx, "Check", id); err != nil {
		return err
	}
	return c.check(id, created)
}

func (c *memCache) Record(ctx context.Context, id []byte, created time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.enter(ctx, "Record", id); err != nil {
		return err
	}
	if err := c.check(id, created); err != nil {
		return err
	}
	c.ids[string(id)] = created
	return nil
}

func (c *memCache) Purge(ctx context.Context, before time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.enter(ctx, "Purge", nil); err != nil {
		return err
	}
	if before.After(c.horizon) {
		c.horizon = before
	}
	for id, created := range c.ids {
		if created.Before(c.horizon) {
			delete(c.ids, id)
		}
	}
	return nil
}

// log returns the calls made so far, and forgets them.
func (c *memCache) log() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := strings.Join(c.calls, " ")
	c.calls = nil
	return s
}

// TestReplayCacheBackends runs the replay behaviour seal promises on both
// backends: each message is accepted once, by either path, and of several
// openers that all passed Open, exactly one finishes.
func TestReplayCacheBackends(t *testing.T) {
	bob := testIdentity(t, "bob-x25519")
	plain := testPlaintext(70000, 21)
	backends := map[string]func(t *testing.T) ReplayCache{
		"memory": func(*testing.T) ReplayCache { return newMemCache() },
		"sqlite": func(t *testing.T) ReplayCache { return newCache(t) },
	}
	for name, newBackend := range backends {
		t.Run(name, func(t *testing.T) {
			cache := newBackend(t)
			opts := func() *OpenOptions { return &OpenOptions{Identities: []*keyblob.Identity{bob}, Cache: cache} }
			msg := sealMsg(t, plain, &Options{Recipients: recipientsOf(bob), Signer: testIdentity(t, "alice-x25519")})
			_, err := openStream(flipped(msg, len(msg)-1, 1), opts())
			wantClass(t, "a bad signature", err, classPayload)
			const n = 8
			openers := make([]*Opener, n)
			for i := range openers {
				if openers[i], err = Open(tempFile(t, msg), opts()); err != nil {
					t.Fatalf("Open %d: %v", i, err)
				}
			}
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i, o := range openers {
				wg.Go(func() { _, errs[i] = o.WriteTo(io.Discard) })
			}
			wg.Wait()
			ok := 0
			for i, err := range errs {
				if err == nil {
					ok++
				} else {
					wantClass(t, fmt.Sprintf("opener %d", i), err, "replay")
				}
			}
			if ok != 1 {
				t.Errorf("%d of %d openers finished, want exactly 1", ok, n)
			}
			_, err = openStream(msg, opts())
			wantClass(t, "afterwards", err, "replay")
		})
	}
}

// TestReplayCacheCalls checks when seal calls the cache, with which
// context: Purge and Check at Open, Record only after everything is
// authenticated, and nothing recorded for a tampered copy.
func TestReplayCacheCalls(t *testing.T) {
	alice, bob := testIdentity(t, "alice-x25519"), testIdentity(t, "bob-x25519")
	plain := testPlaintext(5000, 22)
	msg := sealMsg(t, plain, &Options{Recipients: recipientsOf(bob), Signer: alice})
	cache := newMemCache()
	ctx := context.WithValue(context.Background(), ctxKey{}, "ctx")
	tests := []struct {
		name          string
		msg           []byte
		maxAge        time.Duration
		class         string
		atOpen, atEnd string
	}{
		{"bad payload", flipped(msg, split(t, msg).h.Size()+3, 0), 0, classPayload, "Check@ctx", ""},
		{"bad signature", flipped(msg, len(msg)-1, 0), time.Hour, classPayload, "Purge@ctx Check@ctx", ""},
		{"genuine", msg, time.Hour, classSuccess, "Purge@ctx Check@ctx", "Record@ctx Record@ctx"}, // its own id, then its content's
		{"again", msg, 0, "replay", "Check@ctx", ""},
	}
	for _, tt := range tests {
		opts := &OpenOptions{Identities: []*keyblob.Identity{bob}, Cache: cache, Context: ctx, MaxAge: tt.maxAge}
		o, err := Open(bytes.NewReader(tt.msg), opts)
		if got := cache.log(); got != tt.atOpen {
			t.Errorf("%s: calls by Open %q, want %q", tt.name, got, tt.atOpen)
		}
		if err == nil {
			var got []byte
			got, err = io.ReadAll(o.Reader())
			if err == nil && !bytes.Equal(got, plain) {
				t.Errorf("%s: wrong plaintext", tt.name)
			}
		}
		wantClass(t, tt.name, err, tt.class)
		if got := cache.log(); got != tt.atEnd {
			t.Errorf("%s: calls after Open %q, want %q", tt.name, got, tt.atEnd)
		}
	}
}

// TestReplayCacheFailure checks that a Record that fails, or whose
// context is cancelled, refuses the message (fail closed) with the
// cache's error, on both paths, and records nothing.
func TestReplayCacheFailure(t *testing.T) {
	bob := testIdentity(t, "bob-x25519")
	msg := sealMsg(t, testPlaintext(5000, 23), &Options{Recipients: recipientsOf(bob)})
	errDisk := errors.New("disk on fire")
	for _, cancelled := range []bool{false, true} {
		for _, fromFile := range []bool{false, true} {
			cache := newMemCache()
			ctx, cancel := context.WithCancel(context.Background())
			var src io.Reader = bytes.NewReader(msg)
			if fromFile {
				src = tempFile(t, msg)
			}
			o, err := Open(src, &OpenOptions{Identities: []*keyblob.Identity{bob}, Cache: cache, Context: ctx})
			if err != nil {
				t.Fatal(err)
			}
			want := errDisk
			if cancelled {
				cancel()
				want = context.Canceled
			} else {
				cache.fail = errDisk
			}
			if fromFile {
				_, err = o.WriteTo(io.Discard)
			} else {
				_, err = io.ReadAll(o.Reader())
			}
			cancel()
			if !errors.Is(err, want) || len(cache.ids) != 0 {
				t.Errorf("cancelled %v, file %v: %v with %d ids recorded, want %v and none", cancelled, fromFile, err, len(cache.ids), want)
			}
		}
	}
}

// TestNoSQLite checks that seal does not link the SQLite driver: the
// replay cache is an interface, and its SQLite backend is the caller's.
func TestNoSQLite(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if !strings.Contains(string(out), "github.com/keyblob/keyblob/seal\n") {
		t.Fatalf("go list -deps does not list seal itself: %q", deps)
	}
	for _, dep := range deps {
		if strings.HasPrefix(dep, "modernc.org/") || strings.HasSuffix(dep, "/sqlitedb") || strings.Contains(dep, "sqlitecache") {
			t.Errorf("seal depends on %s", dep)
		}
	}
}
