//go:build unix

package authority_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/keyblob/keyblob/authority"
	"github.com/keyblob/keyblob/authority/api"
	"github.com/keyblob/keyblob/password"
)

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkStrangerRequest is what a recovery request for an owner that
// does not exist costs the service, with the default Argon2id: it reports
// the CPU time per request (cpu-µs/op), the wall time being the wait that
// stands for a code check. BenchmarkOwnerWrongCode is the same for a real
// owner's wrong code, which runs Argon2id.
func BenchmarkStrangerRequest(b *testing.B) { benchmarkRecovery(b, false) }

func BenchmarkOwnerWrongCode(b *testing.B) { benchmarkRecovery(b, true) }

func benchmarkRecovery(b *testing.B, enrolled bool) {
	f := newFixtureConfig(b, sqliteStore(b), func(c *authority.Config) {
		c.Argon2 = password.Defaults()
		c.ThrottleAfter = 1 << 30 // never throttled: every wrong code is checked
	})
	owner, to := identity(b, "owner"), identity(b, "new")
	if enrolled {
		f.enroll(owner)
	}
	b.ResetTimer()
	start := cpuTime(b)
	for b.Loop() {
		f.now = f.now.Add(time.Second)
		if _, err := f.requestRecovery(owner, to, api.NewRecoveryCode()); err == nil {
			b.Fatal("a wrong code recovered")
		}
	}
	b.ReportMetric(float64((cpuTime(b)-start)/time.Microsecond)/float64(b.N), "cpu-µs/op")
}
