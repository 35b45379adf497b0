package main

import (
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

// divertTo, when set, receives the stop signals instead of stop: a
// server (channel serve) drains its sessions and returns. A signal that
// finds the channel full (a second Ctrl-C) stops the process as usual.
var divertTo atomic.Pointer[chan os.Signal]

// diverted hands sig to divertTo, reporting whether it took it.
func diverted(sig os.Signal) bool {
	p := divertTo.Load()
	if p == nil {
		return false
	}
	select {
	case *p <- sig:
		return true
	default:
		return false
	}
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
