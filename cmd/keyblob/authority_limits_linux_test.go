package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// authorityProcess is an 'authority serve' process of the test binary.
type authorityProcess struct {
	cmd  *exec.Cmd
	done chan error
	url  string
	log  string
}

// startServe runs 'keyblob authority serve --dir dir' with args, in a
// shell that first sets the open-file limit (soft and hard) to nofile
// if it is not 0, and waits until /healthz answers 200. The test stops
// it (SIGTERM) when it ends.
func startServe(t *testing.T, dir string, nofile int, args ...string) *authorityProcess {
	t.Helper()
	addr, logPath := filepath.Join(dir, "serve.addr"), filepath.Join(dir, "serve.log")
	script := `exec "$0" "$@"`
	if nofile > 0 {
		script = fmt.Sprintf("ulimit -n %d && %s", nofile, script)
	}
	argv := append([]string{"-c", script, keyblobCommand(t), "authority", "serve", "--dir", dir,
		"--listen", "127.0.0.1:0", "--addr-file", addr}, args...)
	log, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	p := &authorityProcess{cmd: exec.Command("/bin/sh", argv...), done: make(chan error, 1), log: logPath}
	p.cmd.Stdout, p.cmd.Stderr = log, log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { p.stop(t) })
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(addr); err == nil && p.url == "" {
			p.url = "http://" + strings.TrimSpace(string(b))
		}
		if p.url != "" {
			if status, _ := p.get(t, "/healthz", time.Second); status == http.StatusOK {
				return p
			}
		}
	}
	t.Fatalf("serve did not answer /healthz in 30s")
	return nil
}

// stop sends SIGTERM and waits; on failure it shows the log.
func (p *authorityProcess) stop(t *testing.T) {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		t.Errorf("serve did not stop on SIGTERM")
	}
	if t.Failed() {
		b, _ := os.ReadFile(p.log)
		t.Logf("serve's log:\n%s", b[max(0, len(b)-4096):])
	}
}

// get sends GET path on a connection of its own and returns the status
// and body, or 0 and the error.
func (p *authorityProcess) get(t *testing.T, path string, timeout time.Duration) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(p.url + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metric returns the value of the sample name in /metrics.
func (p *authorityProcess) metric(t *testing.T, name string) float64 {
	t.Helper()
	status, body := p.get(t, "/metrics", 5*time.Second)
	if status != http.StatusOK {
		t.Fatalf("/metrics: %d %s", status, body)
	}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", sc.Text(), err)
			}
			return f
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return 0
}

// openFiles returns the soft open-file limit of process pid.
func openFiles(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if f := strings.Fields(strings.TrimPrefix(line, "Max open files")); len(f) >= 1 && strings.HasPrefix(line, "Max open files") {
			n, err := strconv.Atoi(f[0])
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			return n
		}
	}
	t.Fatal("no open-file limit in /proc/PID/limits")
	return 0
}

// TestServeManyIdleConnections runs serve with 1024 open files and opens
// 3,000 idle connections to it: serve keeps 960 (1024 less 64) open, so
// it never runs out of descriptors, the others wait in the backlog, and
// once most are closed a fresh /healthz answers at once; an idle one is
// closed by the server after its 10s header timeout.
func TestServeManyIdleConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("3,000 connections and a 10s timeout")
	}
	const idle, limit, kept = 3000, 1024, 500
	var own unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &own); err != nil || own.Cur < idle+256 {
		t.Skipf("this process may open %d files, fewer than %d connections need (%v)", own.Cur, idle, err)
	}
	if b, err := os.ReadFile("/proc/sys/net/core/somaxconn"); err != nil || atoiOr(string(b)) < idle {
		t.Skipf("a listen backlog below %d (net.core.somaxconn %q, %v)", idle, b, err)
	}
	dir := filepath.Join(t.TempDir(), "auth")
	mustRun(t, "authority", "init", "--dir", dir)
	p := startServe(t, dir, limit)
	if n := openFiles(t, p.cmd.Process.Pid); n != limit {
		t.Fatalf("serve's open-file limit is %d, want %d", n, limit)
	}
	addr := strings.TrimPrefix(p.url, "http://")
	conns := make([]net.Conn, 0, idle)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	start := time.Now()
	for i := range idle {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	// Full: a fresh request waits, as long as the first idle ones are
	// within their header timeout.
	if status, _ := p.get(t, "/healthz", time.Second); status != 0 && time.Since(start) < 8*time.Second {
		t.Errorf("/healthz answered %d with %d idle connections open: no cap?", status, idle)
	}
	for _, c := range conns[kept:] {
		c.Close()
	}
	conns = conns[:kept]
	start = time.Now()
	if status, body := p.get(t, "/healthz", 5*time.Second); status != http.StatusOK || body != "ok\n" {
		t.Fatalf("/healthz with %d idle connections left: %d %q", kept, status, body)
	}
	t.Logf("/healthz answered in %v with %d idle connections open", time.Since(start), kept)
	for name, want := range map[string]float64{"keyblob_authority_accept_errors_total": 0,
		"keyblob_authority_connections_max": limit - fdReserve} {
		if got := p.metric(t, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	// The server drops an idle connection after ReadHeaderTimeout.
	conns[0].SetReadDeadline(time.Now().Add(20 * time.Second))
	if n, err := conns[0].Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("an idle connection after 20s: read %d, %v; want EOF (closed by the server)", n, err)
	}
}

// TestServeDiskFull puts serve's SQLite database on a small tmpfs
// (mounted here, so it needs root; skipped otherwise) and fills it:
// /healthz answers 503 naming the full disk, and a deposit fails with
// store_unavailable and the hint for it; once space is freed both work.
func TestServeDiskFull(t *testing.T) {
	full := t.TempDir()
	if err := unix.Mount("tmpfs", full, "tmpfs", 0, "size=2m"); err != nil {
		t.Skipf("cannot mount a small tmpfs (needs root): %v", err)
	}
	t.Cleanup(func() { unix.Unmount(full, 0) }) // after serve stops: cleanups run last first
	dir := t.TempDir()
	in := func(name string) string { return filepath.Join(dir, name) }
	t.Setenv("KEYBLOB_HOME", in("home"))
	if err := os.WriteFile(in("pass"), []byte("a passphrase for the tests\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(passphraseEnv, in("pass"))
	mustRun(t, "authority", "init", "--dir", in("auth"))
	p := startServe(t, in("auth"), 0, "--db", "sqlite:"+filepath.Join(full, "authority.db"))
	mustRun(t, "authority", "add", "backup", p.url, in("auth/authority.pub"))
	mustRun(t, "id", "new", "me")
	mustRun(t, "escrow", "enroll", "--authority", "backup", "-i", "me")
	mustRun(t, "session", "new", "-o", in("a.skey"))

	fill(t, filepath.Join(full, "fill"))
	status, body := waitHealth(t, p, http.StatusServiceUnavailable)
	if status != http.StatusServiceUnavailable || body != "store cannot write: disk full\n" {
		t.Fatalf("/healthz on a full disk: %d %q", status, body)
	}
	code, _, stderr := runCmd(t, "escrow", "deposit", "--authority", "backup", "-i", "me", "-k", in("a.skey"))
	if code != 1 || !strings.Contains(stderr, "cannot write its database (store_unavailable, 503)") ||
		!strings.Contains(stderr, "keyblob: hint: the authority's disk is full") {
		t.Errorf("deposit on a full disk: exit %d\n%s", code, stderr)
	}
	if got := p.metric(t, "keyblob_authority_store_errors_total"); got != 1 {
		t.Errorf("store errors %v, want 1 (the deposit)", got)
	}

	if err := os.Remove(filepath.Join(full, "fill")); err != nil {
		t.Fatal(err)
	}
	if status, body := waitHealth(t, p, http.StatusOK); status != http.StatusOK {
		t.Fatalf("/healthz once space is freed: %d %q", status, body)
	}
	mustRun(t, "escrow", "deposit", "--authority", "backup", "-i", "me", "-k", in("a.skey"))
}

// fill writes name until the disk is full.
func fill(t *testing.T, name string) {
	t.Helper()
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return
		}
	}
}

// waitHealth polls /healthz until it answers want, for longer than the
// server keeps a check's outcome, and returns the last answer.
func waitHealth(t *testing.T, p *authorityProcess, want int) (int, string) {
	t.Helper()
	var status int
	var body string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if status, body = p.get(t, "/healthz", 5*time.Second); status == want {
			break
		}
	}
	return status, body
}

// atoiOr returns the number s holds (spaces around it), or 0.
func atoiOr(s string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(s))
	return n
}
