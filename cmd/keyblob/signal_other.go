//go:build !unix

package main

import (
	"os"
	"syscall"
)

// stopSignals are the signals that stop keyblob cleanly: on Windows, Go
// delivers Ctrl-C and Ctrl-Break as os.Interrupt, and closing the console,
// logoff and shutdown as SIGTERM.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}
