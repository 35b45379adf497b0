package keystore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/keyblob/keyblob"
)

// TestKillDuringConcurrentPuts runs 200 'keyblob key put' processes from
// several concurrent launchers against one store while a killer sends
// SIGKILL to random running ones. Afterwards the store must open, list and
// show its identity, and every put that was acknowledged (exit status 0)
// must be readable with 'keyblob key get' and be the key that was put; any
// other key that made it to the store must be whole and correct too.
//
// The binary keeps its default Argon2id costs (64 MiB per process), so
// the parallelism is kept moderate for two cores.
func TestKillDuringConcurrentPuts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds keyblob and runs 200+ processes; skipped with -short")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH to build keyblob")
	}
	start := time.Now()
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "keyblob")
	build := exec.Command(goTool, "build", "-o", bin, "github.com/keyblob/keyblob/cmd/keyblob")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built keyblob in %v", time.Since(start).Round(time.Millisecond))

	home := filepath.Join(tmp, "home")
	passFile := filepath.Join(tmp, "passphrase")
	must(t, os.WriteFile(passFile, []byte("a passphrase for the crash test\n"), 0o600))
	env := append(os.Environ(), "KEYBLOB_HOME="+home, "KEYBLOB_PASSPHRASE_FILE="+passFile)
	// keyblob runs one command; stdout and stderr are returned.
	keyblobCmd := func(args ...string) *exec.Cmd {
		c := exec.Command(bin, args...)
		c.Env = env
		c.Dir = tmp
		return c
	}
	run := func(args ...string) (string, string, error) {
		c := keyblobCmd(args...)
		var stdout, stderr bytes.Buffer
		c.Stdout, c.Stderr = &stdout, &stderr
		err := c.Run()
		return stdout.String(), stderr.String(), err
	}
	if _, stderr, err := run("id", "new", "me"); err != nil {
		t.Fatalf("id new: %v\n%s", err, stderr)
	}

	// The session keys, one file each.
	const total = 200
	names := make([]string, total)
	keys := make([]*keyblob.SessionKey, total)
	files := make([]string, total)
	for i := range total {
		names[i] = fmt.Sprintf("k%03d", i)
		keys[i] = keyblob.NewSessionKey()
		files[i] = filepath.Join(tmp, names[i]+".sk")
		must(t, os.WriteFile(files[i], keys[i].MarshalPEM(), 0o600))
	}

	// Launchers take puts from jobs and run them one at a time; the killer
	// kills random running ones.
	const launchers = 4
	var (
		mu      sync.Mutex
		running = map[int]*exec.Cmd{}
		acked   = make([]bool, total)
		killed  = make([]bool, total)
		failed  []string
	)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range launchers {
		wg.Go(func() {
			for i := range jobs {
				c := keyblobCmd("key", "put", names[i], "-k", files[i], "--description", "crash test "+names[i])
				var stderr bytes.Buffer
				c.Stderr = &stderr
				if err := c.Start(); err != nil {
					t.Errorf("starting keyblob: %v", err)
					continue
				}
				mu.Lock()
				running[i] = c
				mu.Unlock()
				err := c.Wait()
				mu.Lock()
				delete(running, i)
				var exit *exec.ExitError
				switch {
				case err == nil:
					acked[i] = true
				case errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signaled() &&
					exit.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL:
					killed[i] = true
				default:
					failed = append(failed, fmt.Sprintf("%s: %v: %s", names[i], err, strings.TrimSpace(stderr.String())))
				}
				mu.Unlock()
			}
		})
	}
	// The killer: every 30 to 80 ms, one time in seven, it kills a random
	// running put, wherever it is (mostly in Argon2id); and between those
	// ticks it watches /proc/locks and now and then kills the put that
	// holds the store's lock, that is, one in the middle of its write.
	lockIno := inode(t, filepath.Join(home, lockFile))
	stop := make(chan struct{})
	killerDone := make(chan [2]int)
	go func() {
		var randomKills, writeKills int
		signalled := map[*exec.Cmd]bool{}
		kill := func(c *exec.Cmd) bool {
			if signalled[c] || c.Process.Signal(syscall.SIGKILL) != nil {
				return false
			}
			signalled[c] = true
			return true
		}
		next := time.Now().Add(time.Duration(30+rand.IntN(51)) * time.Millisecond)
		for {
			select {
			case <-stop:
				killerDone <- [2]int{randomKills, writeKills}
				return
			case <-time.After(time.Millisecond):
			}
			mu.Lock()
			if time.Now().After(next) {
				next = time.Now().Add(time.Duration(30+rand.IntN(51)) * time.Millisecond)
				if rand.IntN(7) == 0 && len(running) > 0 {
					var jobs []int
					for i := range running {
						jobs = append(jobs, i)
					}
					if kill(running[jobs[rand.IntN(len(jobs))]]) {
						randomKills++
					}
				}
			} else if pid := lockHolder(lockIno); pid != 0 && rand.IntN(30) == 0 {
				for _, c := range running {
					if c.Process.Pid == pid && kill(c) {
						writeKills++
					}
				}
			}
			mu.Unlock()
		}
	}()
	putStart := time.Now()
	for i := range total {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(stop)
	signals := <-killerDone
	putTime := time.Since(putStart)

	var nAcked, nKilled int
	for i := range total {
		if acked[i] {
			nAcked++
		}
		if killed[i] {
			nKilled++
		}
	}
	t.Logf("%d puts in %v: %d acknowledged, %d killed by SIGKILL (signals sent: %d at random, %d while holding the store lock), %d failed otherwise",
		total, putTime.Round(time.Millisecond), nAcked, nKilled, signals[0], signals[1], len(failed))
	for _, f := range failed {
		t.Errorf("a put failed without being killed: %s", f)
	}
	if nAcked == 0 || nKilled == 0 {
		t.Errorf("the test did not exercise both outcomes: %d acknowledged, %d killed", nAcked, nKilled)
	}

	// The store opens and lists.
	stdout, stderr, err := run("id", "list")
	if err != nil || !strings.Contains(stdout, "me ") {
		t.Fatalf("id list after the kills: %v\n%s%s", err, stdout, stderr)
	}
	stdout, stderr, err = run("key", "list", "--json")
	if err != nil {
		t.Fatalf("key list after the kills: %v\n%s", err, stderr)
	}
	var listed []struct {
		Name, Serial, Identity, Description string
	}
	if err := json.Unmarshal([]byte(stdout), &listed); err != nil {
		t.Fatalf("key list --json: %v\n%s", err, stdout)
	}
	index := map[string]int{}
	for i, name := range names {
		index[name] = i
	}
	present := map[string]bool{}
	for _, l := range listed {
		i, ok := index[l.Name]
		if !ok {
			t.Errorf("key list shows %q, which was never put", l.Name)
			continue
		}
		present[l.Name] = true
		if l.Serial != keys[i].Serial().String() || l.Identity != "me" || l.Description != "crash test "+l.Name {
			t.Errorf("key list: %+v, want serial %s", l, keys[i].Serial())
		}
	}
	// Every acknowledged put is there.
	var missing []string
	for i := range total {
		if acked[i] && !present[names[i]] {
			missing = append(missing, names[i])
		}
	}
	if len(missing) > 0 {
		t.Errorf("acknowledged keys missing from the store: %v", missing)
	}
	t.Logf("%d keys in the store: %d acknowledged, %d from killed puts that had placed their file",
		len(present), nAcked-len(missing), len(present)-(nAcked-len(missing)))

	// Temporary files of killed writes may remain; they are never keys.
	strays, _ := filepath.Glob(filepath.Join(home, "*", ".*.tmp-*"))
	for _, s := range strays {
		base := filepath.Base(s)
		if present[strings.TrimPrefix(base, ".")] {
			t.Errorf("a temporary file is listed as a key: %s", base)
		}
	}
	blobs, _ := filepath.Glob(filepath.Join(home, keysDir, "*.blob"))
	if len(blobs) != len(present) {
		t.Errorf("%d .blob files, %d keys listed", len(blobs), len(present))
	}
	sort.Strings(strays)
	shown := relative(home, strays)
	if len(shown) > 5 {
		shown = append(shown[:5], "...")
	}
	t.Logf("temporary files left by killed puts (ignored by the store): %d %v", len(strays), shown)

	// Every acknowledged key reads back with 'keyblob key get' (two at a
	// time), and equals the key that was put.
	getStart := time.Now()
	outDir := filepath.Join(tmp, "out")
	must(t, os.Mkdir(outDir, 0o700))
	gets := make(chan int)
	var gwg sync.WaitGroup
	for range 2 {
		gwg.Go(func() {
			for i := range gets {
				out := filepath.Join(outDir, names[i]+".sk")
				if _, stderr, err := run("key", "get", names[i], "-o", out); err != nil {
					t.Errorf("key get %s: %v\n%s", names[i], err, stderr)
					continue
				}
				data, err := os.ReadFile(out)
				if err != nil {
					t.Error(err)
					continue
				}
				got, err := keyblob.ParseSessionKey(data)
				if err != nil || !got.Equal(keys[i]) || got.Serial() != keys[i].Serial() {
					t.Errorf("key get %s: not the key that was put (%v)", names[i], err)
				}
			}
		})
	}
	for i := range total {
		if acked[i] {
			gets <- i
		}
	}
	close(gets)
	gwg.Wait()
	t.Logf("%d key gets in %v", nAcked, time.Since(getStart).Round(time.Millisecond))

	// Every key in the store, acknowledged or not, opens in-process to the
	// key that was put: no torn or foreign blob.
	s, err := Open(home, testOptions)
	must(t, err)
	k, err := s.Unlock("me", []byte("a passphrase for the crash test"))
	must(t, err)
	infos, err := s.Keys()
	must(t, err)
	for _, info := range infos {
		got, err := s.GetKey(info.Name, func(string) (*Keyring, error) { return k, nil })
		if err != nil || !got.Equal(keys[index[info.Name]]) {
			t.Errorf("stored key %s: %v", info.Name, err)
		}
	}
	// The store still takes writes.
	if _, stderr, err := run("key", "put", "after", "-k", files[0]); err != nil {
		t.Errorf("key put after the kills: %v\n%s", err, stderr)
	}
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}

// inode returns the inode number of a file.
func inode(t *testing.T, path string) uint64 {
	t.Helper()
	st, err := os.Stat(path)
	must(t, err)
	return st.Sys().(*syscall.Stat_t).Ino
}

// lockHolder returns the pid of the process holding a flock on the file
// with this inode, from /proc/locks, or 0.
func lockHolder(ino uint64) int {
	data, err := os.ReadFile("/proc/locks")
	if err != nil {
		return 0
	}
	suffix := ":" + strconv.FormatUint(ino, 10)
	for _, line := range strings.Split(string(data), "\n") {
		// "1: FLOCK  ADVISORY  WRITE 1799 fe:00:9977987 0 EOF"; waiters
		// are shown with "->" and do not hold it.
		f := strings.Fields(line)
		if len(f) >= 6 && f[1] == "FLOCK" && strings.HasSuffix(f[5], suffix) {
			pid, _ := strconv.Atoi(f[4])
			return pid
		}
	}
	return 0
}

func relative(dir string, paths []string) []string {
	var out []string
	for _, p := range paths {
		if r, err := filepath.Rel(dir, p); err == nil {
			p = r
		}
		out = append(out, p)
	}
	return out
}
