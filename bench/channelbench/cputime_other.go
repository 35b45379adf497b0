//go:build !unix

package main

import "time"

// cpuTime is not measured on systems without getrusage: the server CPU
// rows then report zero (bench/channel-vs-tls.sh runs on Linux).
func cpuTime() time.Duration { return 0 }
