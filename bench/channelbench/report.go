package main

import (
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"strings"
)

type row struct {
	name  string
	value float64
	t     tally // handshake rows only
}

type results struct {
	opt      options
	bulk, hs []row
	rsaBound float64
	pinned   pinnedSection
}

func (r *results) get(rows []row, name string) float64 {
	for _, x := range rows {
		if x.name == name {
			return x.value
		}
	}
	return 0
}

func (r *results) pinnedRow(name string) pinnedRow {
	for _, x := range r.pinned.rows {
		if x.name == name {
			return x
		}
	}
	return pinnedRow{}
}

// A target is one of issue #10's ratios; want 0 means no target (for
// information).
type target struct {
	what     string
	num, den float64
	want     float64
}

func (r *results) print(w io.Writer) {
	fmt.Fprintf(w, "## keyblob channel vs crypto/tls 1.3 (%s, %d CPUs, %s/%s)\n\n", runtime.Version(), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	r.printBulk(w)
	r.printHandshakes(w)
	r.printPinned(w)
	r.printSeedRate(w)
	r.printTargets(w)
}

func (r *results) printBulk(w io.Writer) {
	fmt.Fprintf(w, "Bulk: %d MiB one way over 127.0.0.1, MB/s = 10^6 bytes/s.\n\n", r.opt.size>>20)
	fmt.Fprintln(w, "| bulk | MB/s | × TLS 1.3 | × TCP |\n|---|---:|---:|---:|")
	tls, tcp := r.get(r.bulk, "TLS 1.3"), r.get(r.bulk, "TCP")
	for _, x := range r.bulk {
		fmt.Fprintf(w, "| %s | %.0f | %.2f | %.2f |\n", x.name, x.value, x.value/tls, x.value/tcp)
	}
}

func (r *results) printHandshakes(w io.Writer) {
	fmt.Fprintf(w, "\nHandshakes, client and server in this process: %d clients for %v, each a new TCP connection, a full handshake and a one-byte echo, closed with RST; an attempt is bounded by %v.\n\n", r.opt.clients, r.opt.dur, r.opt.timeout)
	fmt.Fprintln(w, "| handshakes | per second | × TLS 1.3 | refused | timed out |\n|---|---:|---:|---:|---:|")
	tlsHS := r.get(r.hs, "TLS 1.3")
	for _, x := range r.hs {
		fmt.Fprintf(w, "| %s | %.0f | %.2f | %d | %d |\n", x.name, x.value, x.value/tlsHS, x.t.Refused, x.t.TimedOut)
	}
	fmt.Fprintf(w, "| RSA-2048 DecryptOAEP bound (all %d cores) | %.0f | | | |\n", runtime.GOMAXPROCS(0), r.rsaBound)
}

func (r *results) printPinned(w io.Writer) {
	fmt.Fprintf(w, "\nServer CPU per handshake: the server alone in a process (`channelbench serve`), the %d clients in another (`channelbench load`), %v per row; %s. Server CPU = the server process's user + system time (getrusage) from idle before the load to idle after it, so a key pool's refill of the keys taken counts, over the handshakes the server completed.\n\n", r.opt.clients, r.opt.dur, r.pinned.note)
	fmt.Fprintln(w, "| handshakes, separate processes | per second | server CPU µs/handshake | × TLS 1.3 | client CPU µs/handshake | refused | timed out |\n|---|---:|---:|---:|---:|---:|---:|")
	tls := r.pinnedRow("tls13").serverMicros()
	for _, x := range r.pinned.rows {
		mark := ""
		if !x.idle {
			mark = " (server not idle at a stat)"
		}
		fmt.Fprintf(w, "| %s%s | %.0f | %.0f | %.2f | %.0f | %d | %d |\n", x.label, mark, x.t.perSecond(r.opt.dur),
			x.serverMicros(), ratio(x.serverMicros(), tls), x.clientMicros(), x.t.Refused, x.t.TimedOut)
	}
}

func (r *results) printSeedRate(w io.Writer) {
	x := r.pinnedRow(seedPoolRow)
	fmt.Fprintf(w, "\nSeed fresh-key rate: RSA-2048 seed handshakes a channel.Server delivers with its key pool refilled in the background (the pool full at the start, the per-source rate lifted: every client is 127.0.0.1), %d clients for %v, from the row above.\n\n", r.opt.clients, r.opt.dur)
	fmt.Fprintln(w, "| seed fresh key | handshakes | per second | attempts | refused | timed out | cut at the end | server CPU µs/handshake | server warnings |\n|---|---:|---:|---:|---:|---:|---:|---:|---|")
	attempts := x.t.OK + x.t.failed() + x.t.Cut
	fmt.Fprintf(w, "| channel.Server, pool | %d | %.1f | %d | %d | %d | %d | %.0f | %s |\n", x.t.OK, x.t.perSecond(r.opt.dur),
		attempts, x.t.Refused, x.t.TimedOut, x.t.Cut, x.serverMicros(), warningList(x.warnings))
	if x.t.FirstErr != "" {
		fmt.Fprintf(w, "\nFirst failed attempt: `%s`\n", x.t.FirstErr)
	}
}

// warningList is "message ×n; ...", sorted by message, or "none".
func warningList(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, m[k]))
	}
	return strings.Join(parts, "; ")
}

func (r *results) printTargets(w io.Writer) {
	tls, tlsHS := r.get(r.bulk, "TLS 1.3"), r.get(r.hs, "TLS 1.3")
	fmt.Fprintln(w, "\n| target | ratio | want | met |\n|---|---:|---:|---|")
	for _, t := range []target{
		{"v2 bulk / TLS 1.3 bulk", r.get(r.bulk, "v2"), tls, 1.2},
		{"v2 handshakes / TLS 1.3 handshakes", r.get(r.hs, "v2"), tlsHS, 1.0},
		{"seed identity-key handshakes / RSA-2048 decryption bound", r.get(r.hs, "seed identity key"), r.rsaBound, 0.8},
		{"v2 server CPU per handshake / TLS 1.3's (lower is cheaper)", r.pinnedRow("v2").serverMicros(), r.pinnedRow("tls13").serverMicros(), 0},
	} {
		fmt.Fprintf(w, "| %s | %.2f | %s | %s |\n", t.what, ratio(t.num, t.den), t.wantText(), t.met())
	}
}

func (t target) wantText() string {
	if t.want == 0 {
		return "—"
	}
	return fmt.Sprintf("≥ %.1f", t.want)
}

func (t target) met() string {
	switch {
	case t.want == 0:
		return "(for information)"
	case ratio(t.num, t.den) >= t.want:
		return "yes"
	default:
		return "no"
	}
}
