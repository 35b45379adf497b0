package main

// The transparency log from the owner's side: the checkpoint a client
// remembers of each stored authority (in the key store), `escrow
// checkpoint` and `escrow watch`.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority/api"
	"github.com/keyblob/keyblob/authority/client"
	"github.com/keyblob/keyblob/keystore"
)

// storeLog is the client.LogMemory of a stored authority: its log state
// in the key store (spec/keystore.md section 5.2).
type storeLog struct {
	store *keystore.Store
	name  string
}

func (l storeLog) UpdateCheckpoint(f func([]byte, time.Time) ([]byte, time.Time, error)) error {
	return l.store.UpdateLogState(l.name, func(st *keystore.LogState) error {
		note, seen, err := f(st.Checkpoint, st.Seen)
		if err == nil {
			st.Checkpoint, st.Seen = note, seen
		}
		return err
	})
}

// exitStatus ends a command with a status other than 0 and 1, having
// said everything already: it prints no error.
type exitStatus int

func (s exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(s)) }

// statusRecovery is escrow watch --once's status when a recovery of the
// owner's keys is new.
const statusRecovery exitStatus = 3

func newEscrowCheckpointCmd(e *env) *cobra.Command {
	var a authFlags
	c := &cobra.Command{
		Use:   "checkpoint --authority A",
		Short: "Check the authority's log against the one seen before, and print its checkpoint",
		Long: `checkpoint fetches the newest signed checkpoint of the authority's
transparency log, checks with a consistency proof that the log extends the
one this client saw before (exit 1 if it does not), and prints the newest
checkpoint verified: a signed note (C2SP tlog-checkpoint) naming the log's
size and root. Owners can compare these notes with each other, publish
them, or give them to 'keyblob authority audit verify --checkpoint'. A
stored authority's checkpoint is kept in the key store; one given by URL
is checked only against itself.`,
		Args: argsExactly(0),
		RunE: func(c *cobra.Command, _ []string) error {
			cl, err := e.authorityClient(c, &a)
			if err != nil {
				return err
			}
			return e.printCheckpoint(c.Context(), cl)
		},
	}
	authorityFlags(c, &a)
	return c
}

// printCheckpoint checks cl's log and prints the newest checkpoint kept.
func (e *env) printCheckpoint(ctx context.Context, cl *escrowClient) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	cp, note, err := cl.CheckLog(ctx)
	if err != nil {
		return err
	}
	if kept, seen, ok := e.keptCheckpoint(cl); ok {
		note = kept
		fmt.Fprintf(e.stderr, "keyblob: the log of %s holds %d entries; this checkpoint was first seen %s\n",
			cl.name, cp.Size, api.FormatTime(seen))
	}
	_, err = e.stdout.Write(note)
	return err
}

// keptCheckpoint returns the checkpoint the key store keeps of a stored
// authority.
func (e *env) keptCheckpoint(cl *escrowClient) ([]byte, time.Time, bool) {
	l, ok := cl.Log.(storeLog)
	if !ok {
		return nil, time.Time{}, false
	}
	st, err := l.store.LogState(l.name)
	if err != nil || st.Checkpoint == nil {
		return nil, time.Time{}, false
	}
	return st.Checkpoint, st.Seen, true
}

// watchFlags are escrow watch's flags.
type watchFlags struct {
	auth     authFlags
	identity string
	once     bool
	interval time.Duration
}

func newEscrowWatchCmd(e *env) *cobra.Command {
	f := &watchFlags{interval: 10 * time.Minute}
	c := &cobra.Command{
		Use:   "watch --authority A -i IDENTITY [--once] [--interval D]",
		Short: "Report every recovery request, approval, completion and code attempt about the owner",
		Long: `watch checks that the authority's log extends the one this client saw,
fetches the owner's audit entries since it last looked (each page signed
for the request and each entry proved to be in the log), and prints every
code attempt, recovery request, approval, recovery and release: someone
recovering the owner's keys is seen within one interval. Where it looked
up to is kept in the key store, for a stored authority.

With --once it looks once and exits 3 when an entry about a recovery is
new, 0 when none is (for cron or a systemd timer); without it, it looks
every --interval (default 10m) until stopped.`,
		Args: argsExactly(0),
		RunE: func(c *cobra.Command, _ []string) error {
			return e.watch(c, f)
		},
	}
	identityFlag(c, &f.identity, "the owner's `IDENTITY` (a file or a stored identity)")
	c.Flags().BoolVar(&f.once, "once", false, "look once; exit 3 if anything about a recovery is new")
	durationFlag(c, &f.interval, "interval", "look every `DURATION` (default 10m)")
	authorityFlags(c, &f.auth)
	return c
}

func (e *env) watch(c *cobra.Command, f *watchFlags) error {
	cl, id, err := e.escrowSetup(c, &f.auth, f.identity)
	if err != nil {
		return err
	}
	w := &watcher{e: e, cl: cl, id: id, marks: map[keyblob.Fingerprint]uint64{}}
	// The owner id is the signature key the owner enrolled with: for an
	// identity never rotated, this one's.
	if w.after, err = w.watermark(id.Recipient().SigningFingerprint()); err != nil {
		return err
	}
	for {
		alert, err := w.look(c.Context())
		switch {
		case err != nil:
			return err
		case f.once && alert:
			return statusRecovery
		case f.once:
			return nil
		}
		select {
		case <-c.Context().Done():
			return nil
		case <-time.After(f.interval):
		}
	}
}

// watcher is the state of one escrow watch.
type watcher struct {
	e     *env
	cl    *escrowClient
	id    *keyblob.Identity
	marks map[keyblob.Fingerprint]uint64 // for an authority given by URL
	after uint64
}

// look reports the owner's new entries and keeps where it looked up to;
// it reports whether any is about a recovery.
func (w *watcher) look(ctx context.Context) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	v, err := w.cl.Audit(ctx, w.id, w.after)
	var refused *client.APIError
	if errors.As(err, &refused) && refused.Status == http.StatusUnauthorized && w.after > 0 {
		// Watched before, refused now: a recovery completed and bound
		// the owner to another identity, whose entries this one cannot
		// read any more.
		fmt.Fprintf(w.e.stdout, "the authority no longer accepts this identity for its owner: a recovery bound the owner to another identity\n")
		return false, statusRecovery
	}
	if err != nil {
		return false, err
	}
	alert := false
	err = w.mark(v.Owner, func(last uint64) uint64 {
		for _, en := range v.Entries {
			if en.Seq > last && en.Kind != api.AuditEnroll && en.Kind != api.AuditDeposit {
				alert = true
				w.report(&en)
			}
		}
		return max(last, v.Through)
	})
	w.after = v.Through
	return alert, err
}

// mark moves owner's watermark to next(watermark), in the key store for a
// stored authority.
func (w *watcher) mark(owner keyblob.Fingerprint, next func(uint64) uint64) error {
	l, ok := w.cl.Log.(storeLog)
	if !ok {
		w.marks[owner] = next(w.marks[owner])
		return nil
	}
	return storeError(l.store.UpdateLogState(l.name, func(st *keystore.LogState) error {
		st.Watched[owner] = next(st.Watched[owner])
		return nil
	}))
}

// watermark is where the watch of owner looked up to.
func (w *watcher) watermark(owner keyblob.Fingerprint) (uint64, error) {
	l, ok := w.cl.Log.(storeLog)
	if !ok {
		return w.marks[owner], nil
	}
	st, err := l.store.LogState(l.name)
	if err != nil {
		return 0, storeError(err)
	}
	return st.Watched[owner], nil
}

// report prints one entry about a recovery.
func (w *watcher) report(en *api.AuditEntry) {
	v := en.V1()
	line := fmt.Sprintf("%s %s seq=%d", v.Time, v.Kind, v.Seq)
	if v.Actor != nil {
		line += " actor=" + *v.Actor
	}
	if v.Ref != nil {
		line += " ref=" + *v.Ref
	}
	fmt.Fprintf(w.e.stdout, "%s %s\n", line, detailText(v.Detail))
}
