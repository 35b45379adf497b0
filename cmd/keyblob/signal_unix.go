//go:build unix

package main

import (
	"os"
	"syscall"
)

// stopSignals are the signals that stop keyblob cleanly: Ctrl-C, kill,
// and the terminal closing.
var stopSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}
