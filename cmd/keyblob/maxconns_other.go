//go:build !unix

package main

// maxConnsDefault is a fixed cap where there is no RLIMIT_NOFILE
// (Windows has no small per-process limit on sockets).
func maxConnsDefault() int { return 4096 }
