package main

// The default of authority serve --max-conns: below the process's limit
// on open files, so that serve never runs out of descriptors (EMFILE)
// while accepting, leaving room for the database, its journal, the logs
// and the TLS files. Beyond it, connections wait in the kernel's backlog.
const (
	fdReserve   = 64 // descriptors kept for everything but connections
	minMaxConns = 16
)

// defaultMaxConns is the cap for a file limit of limit descriptors: the
// limit less fdReserve, at least minMaxConns.
func defaultMaxConns(limit uint64) int {
	if limit < minMaxConns+fdReserve {
		return minMaxConns
	}
	return int(min(limit-fdReserve, 1<<30))
}
