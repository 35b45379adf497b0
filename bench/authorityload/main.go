// Command authorityload measures the backup authority under load: for
// each setup (SQLite; PostgreSQL with one serve instance; PostgreSQL with
// two) it starts the servers as processes of this program (package
// authority/authoritytest), on 127.0.0.1, enrols one owner per client,
// runs the clients making signed deposits for a fixed time, then whole
// recoveries (request, complete, fetch the keys) for a fixed time, and
// prints a Markdown table: deposits/s, deposit p50/p99, the servers' CPU
// time per deposit (Linux: /proc), recoveries/s,
// recovery p50/p99, and the errors of each phase.
//
// PostgreSQL is a throwaway cluster (internal/pgtest: initdb and pg_ctl
// in a temporary directory). It is run by bench/authority-load.sh; see
// bench/README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority/api"
	"github.com/keyblob/keyblob/authority/authoritytest"
	"github.com/keyblob/keyblob/authority/client"
	"github.com/keyblob/keyblob/internal/pgtest"
	"github.com/keyblob/keyblob/password"
)

func main() {
	authoritytest.ServeIfHelper()
	log.SetFlags(0)
	log.SetPrefix("authorityload: ")
	setups := flag.String("setups", "sqlite,postgres,postgres2", "comma-separated setups: sqlite, postgres (one instance), postgres2 (two instances)")
	clients := flag.Int("clients", 32, "concurrent clients")
	duration := flag.Duration("duration", 10*time.Second, "how long the deposit phase lasts, per setup")
	recoveries := flag.Duration("recovery-duration", 0, "how long the recovery phase lasts (0: as -duration)")
	deposits := flag.Int("owner-deposits", 3, "deposits of each owner before the timed phases, re-wrapped by each recovery")
	argon := flag.String("argon2", "default", "the verifiers' Argon2id: default (password.Defaults) or min (the smallest allowed)")
	tmp := flag.String("tmpdir", os.TempDir(), "parent of the scratch directory (SQLite's file, the servers' logs)")
	flag.Parse()
	if *recoveries == 0 {
		*recoveries = *duration
	}
	params := password.Defaults()
	switch *argon {
	case "default":
	case "min":
		params = password.Params{Time: 1, MemoryKiB: password.MinMemoryKiB, Threads: 1}
	default:
		log.Fatalf("-argon2 must be default or min, not %q", *argon)
	}
	if *clients < 1 || *duration <= 0 || *deposits < 0 {
		log.Fatal("-clients and -duration must be positive, -owner-deposits not negative")
	}
	b := &bench{clients: *clients, deposits: *duration, recoveries: *recoveries, ownerDeposits: *deposits, argon2: params}
	os.Exit(b.run(strings.Split(*setups, ","), *tmp))
}

// bench is one run over several setups.
type bench struct {
	clients              int
	deposits, recoveries time.Duration
	ownerDeposits        int
	argon2               password.Params
	exe, dir             string
	tb                   *fakeTB
	cluster              *pgtest.Cluster
	results              []result
}

func (b *bench) run(setups []string, tmp string) int {
	var err error
	if b.exe, err = os.Executable(); err != nil {
		log.Print(err)
		return 1
	}
	if b.dir, err = os.MkdirTemp(tmp, "keyblob-authorityload-"); err != nil {
		log.Print(err)
		return 1
	}
	b.tb = &fakeTB{}
	defer os.RemoveAll(b.dir)
	defer b.tb.cleanup()
	for _, s := range setups {
		r, err := b.setup(strings.TrimSpace(s))
		if err != nil {
			log.Printf("%s: %v (server logs in %s are removed on exit)", s, err, b.dir)
			return 1
		}
		b.results = append(b.results, r)
	}
	b.report(os.Stdout)
	return 0
}

// setup starts the servers of one setup, measures them and stops them.
func (b *bench) setup(name string) (result, error) {
	var dbs []string
	switch name {
	case "sqlite":
		dbs = []string{"sqlite:" + filepath.Join(b.dir, "authority.db")}
	case "postgres", "postgres2":
		dsn, err := b.postgres()
		if err != nil {
			return result{}, err
		}
		dbs = []string{dsn}
		if name == "postgres2" {
			dbs = append(dbs, dsn)
		}
	default:
		return result{}, fmt.Errorf("unknown setup (want sqlite, postgres or postgres2)")
	}
	log.Printf("%s: starting %d server(s)", name, len(dbs))
	aut, err := keyblob.GenerateIdentity(keyblob.KindHybrid)
	if err != nil {
		return result{}, err
	}
	servers, err := b.start(name, dbs, aut)
	defer func() {
		for _, s := range servers {
			s.Stop()
		}
	}()
	if err != nil {
		return result{}, err
	}
	return b.measure(name, servers, aut)
}

// start starts one server per database in dbs.
func (b *bench) start(name string, dbs []string, aut *keyblob.Identity) ([]*authoritytest.Server, error) {
	idPath := filepath.Join(b.dir, name+"-authority.pem")
	if err := authoritytest.WriteIdentity(idPath, aut); err != nil {
		return nil, err
	}
	var servers []*authoritytest.Server
	for i, db := range dbs {
		base := filepath.Join(b.dir, fmt.Sprintf("%s-%d", name, i))
		cfg := authoritytest.ServerConfig{DB: db, Identity: idPath, AddrFile: base + ".addr", Argon2: b.argon2}
		s, err := authoritytest.StartServer(b.exe, cfg, base+".log")
		if err != nil {
			return servers, err
		}
		servers = append(servers, s)
	}
	return servers, nil
}

// measure enrols the owners, then runs the two timed phases.
func (b *bench) measure(name string, servers []*authoritytest.Server, aut *keyblob.Identity) (result, error) {
	ws := make([]*worker, b.clients)
	for i := range ws {
		c, err := authoritytest.NewClient(servers[i%len(servers)].URL, aut.Recipient())
		if err != nil {
			return result{}, err
		}
		ws[i] = &worker{client: c, aut: aut.Recipient()}
	}
	log.Printf("%s: enrolling %d owners, %d deposits each", name, len(ws), b.ownerDeposits)
	if err := prepare(ws, b.ownerDeposits); err != nil {
		return result{}, err
	}
	r := result{setup: name, instances: len(servers)}
	log.Printf("%s: deposits for %v", name, b.deposits)
	before := serverCPU(servers)
	r.deposit = phase(ws, b.deposits, (*worker).deposit)
	r.depositCPU = serverCPU(servers) - before
	log.Printf("%s: recoveries for %v", name, b.recoveries)
	r.recovery = phase(ws, b.recoveries, (*worker).recover)
	return r, nil
}

// serverCPU is the CPU time the servers have used, or -1 where it cannot
// be read.
func serverCPU(servers []*authoritytest.Server) time.Duration {
	var total time.Duration
	for _, s := range servers {
		d, err := s.CPU()
		if err != nil {
			return -1 << 62
		}
		total += d
	}
	return total
}

// cpuPer is the servers' CPU milliseconds per successful operation.
func cpuPer(cpu time.Duration, s stats) string {
	if cpu < 0 || s.ok == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", float64(cpu)/float64(time.Millisecond)/float64(s.ok))
}

// prepare enrols each worker's owner and makes its first deposits, two
// workers at a time (enrolment runs Argon2id, which the server bounds).
func prepare(ws []*worker, deposits int) error {
	sem := make(chan struct{}, 2)
	errs := make([]error, len(ws))
	var wg sync.WaitGroup
	for i, w := range ws {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = w.prepare(deposits)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// stats are one phase's outcome.
type stats struct {
	ok, failed int
	elapsed    time.Duration
	latencies  []time.Duration // of the successes, sorted
	firstError error
}

// phase runs op on every worker until d has passed.
func phase(ws []*worker, d time.Duration, op func(*worker, context.Context) error) stats {
	ctx := context.Background()
	deadline := time.Now().Add(d)
	per := make([]stats, len(ws))
	start := time.Now()
	var wg sync.WaitGroup
	for i, w := range ws {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				t := time.Now()
				if err := op(w, ctx); err != nil {
					per[i].failed++
					if per[i].firstError == nil {
						per[i].firstError = err
					}
					continue
				}
				per[i].latencies = append(per[i].latencies, time.Since(t))
			}
		})
	}
	wg.Wait()
	var all stats
	all.elapsed = time.Since(start)
	for _, s := range per {
		all.ok += len(s.latencies)
		all.failed += s.failed
		all.latencies = append(all.latencies, s.latencies...)
		if all.firstError == nil {
			all.firstError = s.firstError
		}
	}
	slices.Sort(all.latencies)
	return all
}

// quantile returns the q-quantile of sorted latencies (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// worker is one client, with the owner it deposits and recovers as.
type worker struct {
	client  *client.Client
	aut     *keyblob.Recipient
	owner   keyblob.Fingerprint // the owner id, which recoveries keep
	current *keyblob.Identity   // the identity the owner is bound to now
	code    api.RecoveryCode
}

func (w *worker) prepare(deposits int) error {
	id, err := keyblob.GenerateIdentity(keyblob.KindHybrid)
	if err != nil {
		return err
	}
	ctx := context.Background()
	for attempt := 0; ; attempt++ {
		w.code, _, err = w.client.Enroll(ctx, id)
		if err == nil || attempt == 10 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("enrolling: %w", err)
	}
	w.owner, w.current = id.Recipient().SigningFingerprint(), id
	for range deposits {
		if err := w.deposit(ctx); err != nil {
			return fmt.Errorf("depositing: %w", err)
		}
	}
	return nil
}

// deposit exports a new session key to the authority and deposits it,
// signed by the owner; the client verifies the receipt.
func (w *worker) deposit(ctx context.Context) error {
	_, _, same, err := w.client.Deposit(ctx, w.current, keyblob.NewSessionKey(), "authorityload")
	if err == nil && !same {
		err = fmt.Errorf("the authority kept another blob of a new serial")
	}
	return err
}

// recover recovers the owner's keys to a new identity with its code: a
// recovery request, its completion with a new code, and the re-wrapped
// keys, each checked by the client. The owner is then bound to the new
// identity and code.
func (w *worker) recover(ctx context.Context) error {
	to, err := keyblob.GenerateIdentity(keyblob.KindHybrid)
	if err != nil {
		return err
	}
	keys, code, _, err := w.client.Recover(ctx, to, w.owner, w.code, nil)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return fmt.Errorf("a recovery returned no keys")
	}
	w.current, w.code = to, code
	return nil
}

// result is one setup's figures.
type result struct {
	setup             string
	instances         int
	deposit, recovery stats
	// depositCPU is the servers' CPU time during the deposit phase
	// (negative where it cannot be read).
	depositCPU time.Duration
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)) }

func rate(s stats) string {
	return fmt.Sprintf("%.0f", float64(s.ok)/s.elapsed.Seconds())
}

func (b *bench) report(w io.Writer) {
	fmt.Fprintf(w, "| setup | instances | deposits | deposits/s | deposit p50 ms | deposit p99 ms | server CPU ms/deposit | deposit errors | recoveries | recoveries/s | recovery p50 ms | recovery p99 ms | recovery errors |\n")
	fmt.Fprintf(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range b.results {
		d, rc := r.deposit, r.recovery
		fmt.Fprintf(w, "| %s | %d | %d | %s | %s | %s | %s | %d | %d | %s | %s | %s | %d |\n", r.setup, r.instances,
			d.ok, rate(d), ms(quantile(d.latencies, 0.5)), ms(quantile(d.latencies, 0.99)), cpuPer(r.depositCPU, d), d.failed,
			rc.ok, rate(rc), ms(quantile(rc.latencies, 0.5)), ms(quantile(rc.latencies, 0.99)), rc.failed)
	}
	for _, r := range b.results {
		for phase, s := range map[string]stats{"deposit": r.deposit, "recovery": r.recovery} {
			if s.firstError != nil {
				fmt.Fprintf(w, "\n%s, %s: first error: %v\n", r.setup, phase, s.firstError)
			}
		}
	}
}
