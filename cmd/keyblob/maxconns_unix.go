//go:build unix

package main

import "syscall"

// maxConnsDefault is defaultMaxConns of the soft RLIMIT_NOFILE (the Go
// runtime raised it to the hard limit at start), or of 1024 if it
// cannot be read.
func maxConnsDefault() int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return defaultMaxConns(1024)
	}
	return defaultMaxConns(uint64(lim.Cur)) // int64 on some systems
}
