//go:build race

package channel

// raceEnabled: the race detector instruments Go code (the MAC and CBC
// paths) and not assembly (RSA), so timings are not those of the build
// users run.
const raceEnabled = true
