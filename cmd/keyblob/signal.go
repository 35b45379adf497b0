package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/keyblob/keyblob/internal/atomicfile"
)

// signalsOnce installs the signal handling once per process: run is also
// called many times in-process by the tests.
var signalsOnce sync.Once

// handleSignals makes the signals in stopSignals remove every uncommitted
// named temporary output (atomicfile.RemoveTemporaries) and exit with
// status 128+signal (130 for SIGINT, 143 for SIGTERM), so that an
// interrupted open, decrypt or seal leaves no unverified plaintext on
// disk. Unnamed (O_TMPFILE) outputs need no removal: the kernel frees them
// at exit, and they are all that is used on Linux, so that there even
// SIGKILL leaves nothing. Output already streamed to stdout or a pipe
// stays where it went.
func handleSignals() {
	signalsOnce.Do(func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, stopSignals...)
		go func() {
			for sig := range ch {
				if !diverted(sig) {
					stop(sig)
				}
			}
		}()
	})
}

// onStop, when set, takes the stop signals instead of stop: a server
// (channel serve, authority serve) drains its sessions and returns. It reports whether it
// took the signal; one that it does not take (a second Ctrl-C) stops the
// process as usual.
var onStop atomic.Pointer[func(os.Signal) bool]

// diverted hands sig to onStop, reporting whether it took it.
func diverted(sig os.Signal) bool {
	f := onStop.Load()
	return f != nil && (*f)(sig)
}

// stopContext returns a context that the first SIGINT or SIGTERM cancels,
// with a stopSignal as its cause (context.Cause); a second one ends the
// process through stop. Its CancelFunc restores the usual handling.
func stopContext(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	var taken atomic.Bool
	f := func(sig os.Signal) bool {
		if !taken.CompareAndSwap(false, true) {
			return false
		}
		cancel(stopSignal{sig})
		return true
	}
	onStop.Store(&f)
	return ctx, func() { onStop.CompareAndSwap(&f, nil); cancel(context.Canceled) }
}

// stopSignal is the cause of a stopContext's end: the signal.
type stopSignal struct{ os.Signal }

func (s stopSignal) Error() string { return "stopped by signal " + s.String() }

// signalOf is the signal that ended ctx, if one did.
func signalOf(ctx context.Context) (os.Signal, bool) {
	var s stopSignal
	if errors.As(context.Cause(ctx), &s) {
		return s.Signal, true
	}
	return nil, false
}

// stop ends the process for sig, removing temporary outputs first.
func stop(sig os.Signal) {
	atomicfile.RemoveTemporaries()
	fmt.Fprintf(os.Stderr, "keyblob: error: stopped by signal (%v); no unfinished output file is left\n", sig)
	os.Exit(signalStatus(sig))
}

// signalStatus is the shell's exit status for a process killed by sig.
func signalStatus(sig os.Signal) int {
	if n, ok := sig.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return 1
}
