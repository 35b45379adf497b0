package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// A pinnedRow is one row of the server CPU section.
type pinnedRow struct {
	name, label string
	t           tally         // the load process's clients
	handshakes  int64         // completed at the server
	serverCPU   time.Duration // of the serve process, idle to idle
	idle        bool          // both server stats were taken idle
	warnings    map[string]int64
}

// serverMicros is the server's CPU per completed handshake in µs.
func (r pinnedRow) serverMicros() float64 {
	return ratio(float64(r.serverCPU.Microseconds()), float64(r.handshakes))
}

// clientMicros is the clients' CPU per successful handshake in µs.
func (r pinnedRow) clientMicros() float64 {
	return ratio(float64(r.t.CPU.Microseconds()), float64(r.t.OK))
}

func ratio(num, den float64) float64 {
	if den == 0 {
		return 0
	}
	return num / den
}

// A pinnedSection is the server CPU rows and how they were pinned.
type pinnedSection struct {
	note string
	rows []pinnedRow
}

// A pinning is how the two processes of a row are started: the command
// prefixes (taskset -c CPU, or none) and the report's note.
type pinning struct {
	server, client []string
	note           string
}

// pinPlan pins the server to the first CPU this process may run on and
// the clients to the second, with taskset; without a working taskset or
// a second CPU it says so and pins nothing.
func pinPlan() pinning {
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		return pinning{note: "unpinned: taskset (util-linux) is not installed; server and clients share every CPU"}
	}
	cpus, err := allowedCPUs()
	if err != nil {
		return pinning{note: "unpinned: " + err.Error()}
	}
	if len(cpus) < 2 {
		return pinning{note: fmt.Sprintf("unpinned: only %d CPU; server and clients share it", len(cpus))}
	}
	s, c := strconv.Itoa(cpus[0]), strconv.Itoa(cpus[1])
	if out, err := exec.Command(taskset, "-c", s, "true").CombinedOutput(); err != nil {
		return pinning{note: fmt.Sprintf("unpinned: taskset -c %s fails (%v: %s)", s, err, strings.TrimSpace(string(out)))}
	}
	return pinning{
		server: []string{taskset, "-c", s}, client: []string{taskset, "-c", c},
		note: fmt.Sprintf("server pinned to CPU %s, clients to CPU %s (taskset)", s, c),
	}
}

// allowedCPUs lists the CPUs this process may run on, from
// /proc/self/status.
func allowedCPUs() ([]int, error) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil, fmt.Errorf("cannot read the allowed CPUs: %w", err)
	}
	for line := range strings.Lines(string(status)) {
		if list, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
			return parseCPUList(strings.TrimSpace(list))
		}
	}
	return nil, errors.New("no Cpus_allowed_list in /proc/self/status")
}

// parseCPUList parses a kernel CPU list such as "0-3,5".
func parseCPUList(list string) ([]int, error) {
	var cpus []int
	for part := range strings.SplitSeq(list, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			hi = lo
		}
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil || a < 0 || b < a || b-a > 1<<16 {
			return nil, fmt.Errorf("bad CPU list %q", list)
		}
		for i := a; i <= b; i++ {
			cpus = append(cpus, i)
		}
	}
	return cpus, nil
}

// pinnedRows runs every row of childProtos: a serve process and a load
// process with o.clients clients for o.dur.
func pinnedRows(o options) (pinnedSection, error) {
	self, err := os.Executable()
	if err != nil {
		return pinnedSection{}, err
	}
	plan := pinPlan()
	log.Printf("server CPU per handshake: %s", plan.note)
	sec := pinnedSection{note: plan.note}
	for _, p := range childProtos {
		r, err := runPinned(self, plan, p, o)
		if err != nil {
			return pinnedSection{}, fmt.Errorf("server CPU %s: %w", p.label, err)
		}
		r.t.logFailures(p.label + " (separate processes)")
		sec.rows = append(sec.rows, r)
	}
	return sec, nil
}

// A serveProc is a running channelbench serve process.
type serveProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *json.Decoder
}

func startServe(self string, plan pinning, name string) (*serveProc, serveReady, error) {
	argv := append(append([]string{}, plan.server...), self, "serve", "-proto", name)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, serveReady{}, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, serveReady{}, err
	}
	if err := cmd.Start(); err != nil {
		return nil, serveReady{}, err
	}
	sp := &serveProc{cmd: cmd, stdin: stdin, out: json.NewDecoder(bufio.NewReader(stdout))}
	var ready serveReady
	if err := sp.out.Decode(&ready); err != nil {
		sp.stop()
		return nil, serveReady{}, fmt.Errorf("serve process: %w", err)
	}
	return sp, ready, nil
}

// stat asks the serve process for its CPU time and counts, once idle.
func (sp *serveProc) stat() (serveStat, error) {
	var st serveStat
	if _, err := io.WriteString(sp.stdin, "stat\n"); err != nil {
		return st, err
	}
	err := sp.out.Decode(&st)
	return st, err
}

// stop ends the serve process (closing its stdin) and waits for it.
func (sp *serveProc) stop() error {
	sp.stdin.Close()
	return sp.cmd.Wait()
}

// runPinned measures row p: server stat, the load process, server stat.
func runPinned(self string, plan pinning, p childProto, o options) (pinnedRow, error) {
	sp, ready, err := startServe(self, plan, p.name)
	if err != nil {
		return pinnedRow{}, err
	}
	before, err := sp.stat()
	if err != nil {
		sp.stop()
		return pinnedRow{}, err
	}
	t, loadErr := runLoad(self, plan, p.name, ready, o)
	after, err := sp.stat()
	if err := errors.Join(loadErr, err, sp.stop()); err != nil {
		return pinnedRow{}, err
	}
	return pinnedRow{
		name: p.name, label: p.label, t: t,
		handshakes: after.Handshakes - before.Handshakes, serverCPU: after.CPU - before.CPU,
		idle: before.Idle && after.Idle, warnings: diffCounts(after.Warnings, before.Warnings),
	}, nil
}

// runLoad runs a channelbench load process against ready and returns
// its tally.
func runLoad(self string, plan pinning, name string, ready serveReady, o options) (tally, error) {
	argv := append(append([]string{}, plan.client...), self, "load", "-proto", name,
		"-addr", ready.Addr, "-peer", base64.StdEncoding.EncodeToString(ready.Peer),
		"-duration", o.dur.String(), "-clients", strconv.Itoa(o.clients), "-timeout", o.timeout.String())
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return tally{}, fmt.Errorf("load process: %w", err)
	}
	var t tally
	if err := json.Unmarshal(out, &t); err != nil {
		return tally{}, fmt.Errorf("load process: %w", err)
	}
	return t, nil
}

// diffCounts is after minus before, without the zeros.
func diffCounts(after, before map[string]int64) map[string]int64 {
	d := map[string]int64{}
	for k, v := range after {
		if v-before[k] != 0 {
			d[k] = v - before[k]
		}
	}
	return d
}
