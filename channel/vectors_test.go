package channel

// Handshake and record vectors (spec/channel.md section 5).
//
// TestGenerateVectors (go test ./channel -run TestGenerateVectors -update)
// writes testdata/channel/*.txt: it runs a client and a server with
// Config.Rand from a fixed ChaCha8 stream and Go's own randomness fixed by
// testing/cryptotest.SetGlobalRandom, and records every byte the ends
// drew, every encapsulation, every message and a few records. TestVectors
// never regenerates: it runs a real client and server over the stored
// file, with the stored randomness as Config.Rand and the stored
// encapsulations standing in for fresh ones (test hooks; an encapsulation
// to any other key than the stored one is a real, fresh one), and checks
// that they make and accept exactly the stored bytes. It also checks each
// stored encapsulation against its private key and the key schedule's
// secrets against an independent computation from the stored messages.
//
// A vector file is "name: value" lines; values are hex unless named
// otherwise. Fields:
//
//	profile: seed | v2
//	comment: TEXT
//	server identity: NAME | none     testdata/keys/NAME.key
//	client identity: NAME | none     (v2 mutual mode)
//	pinned: yes | no                 whether the client pins the server recipient
//	seed key: PKCS8                  seed, fresh mode: the session's RSA key
//	seed mode: fresh | identity
//	client rand, server rand: HEX    the bytes each end drew from Config.Rand
//	encapsulation: INFO ENC SECRET   one per encapsulation, INFO the hex of its info ("-" if empty)
//	m1, m2, m3: HEX                  the handshake messages in order (seed: m1 hello, m2 initial)
//	hs, client traffic, server traffic: HEX   v2 key schedule
//	record: c2s|s2c data|update|close DATA RECORD   in the order sent; empty DATA is "-"

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/cryptotest"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/cert"
	"github.com/keyblob/keyblob/internal/suite"
)

var update = flag.Bool("update", false, "regenerate testdata/channel (with -run TestGenerateVectors)")

const vectorDir = "../testdata/channel"

// vectorTime is when the certified vector's certificates are made and
// checked, so that regenerating them changes nothing.
var vectorTime = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// vectorCase is one vector to generate.
type vectorCase struct {
	name, comment  string
	profile        Profile
	server, client string // identity names, "" for none
	pinned         bool
	seedIdentity   bool
	certified      bool // the client knows the server by a certificate (section 4.8)
}

var vectorCases = []vectorCase{
	{name: "v2-hybrid-server-only", comment: "v2, hybrid server, client pins it, no client identity", profile: V2, server: "bob-hybrid", pinned: true},
	{name: "v2-hybrid-mutual", comment: "v2, hybrid identities both ways", profile: V2, server: "bob-hybrid", client: "alice-hybrid", pinned: true},
	{name: "v2-x25519-mutual", comment: "v2, X25519 identities, X25519 ephemeral", profile: V2, server: "bob-x25519", client: "alice-x25519", pinned: true},
	{name: "v2-rsa-2048-mutual", comment: "v2, RSA identities (RSA-OAEP KEM), hybrid ephemeral", profile: V2, server: "bob-rsa-2048", client: "alice-rsa-2048", pinned: true},
	{name: "v2-insecure", comment: "v2, insecure client (no enc_s), hybrid ephemeral", profile: V2, server: "bob-hybrid"},
	{name: "seed-fresh-signed", comment: "seed, fresh RSA-2048 key signed with the server's Ed25519 key, client pins the server", profile: Seed, server: "bob-hybrid", pinned: true},
	{name: "seed-fresh-insecure", comment: "seed, fresh RSA-2048 key, server without identity, insecure client", profile: Seed},
	{name: "seed-identity", comment: "seed, identity mode: an epoch RSA-2048 key signed with the server's RSA-PSS key, client pins the server", profile: Seed, server: "bob-rsa-2048", pinned: true, seedIdentity: true},
	{name: "v2-certified-server", comment: "v2, hybrid server known by a certificate for db.example.com (its chain is m2) that the CA of field ca issued; the client checks it at verified at; no client identity", profile: V2, server: "bob-hybrid", certified: true},
}

// vectorRecords are the records of every vector, in the order sent.
var vectorRecords = []struct {
	c2s  bool
	typ  RecordType
	data string
}{
	{true, RecordData, "hello, server"},
	{false, RecordData, "hello, client"},
	{true, RecordData, strings.Repeat("0123456789abcdef", 6) + "0"},
	{true, RecordKeyUpdate, ""}, // v2 only
	{true, RecordData, "after the key update"},
	{false, RecordClose, ""},
	{true, RecordClose, ""},
}

var recordTypeNames = map[RecordType]string{RecordData: "data", RecordKeyUpdate: "update", RecordClose: "close"}

// recorder is a Config.Rand that remembers what it gave.
type recorder struct {
	r   io.Reader
	got []byte
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.got = append(r.got, p[:n]...)
	return n, err
}

// encapsulation is one recorded encapsulation.
type encapsulation struct{ info, enc, secret []byte }

func TestGenerateVectors(t *testing.T) {
	if !*update {
		t.Skip("run with -update to regenerate testdata/channel")
	}
	if err := os.MkdirAll(vectorDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, vc := range vectorCases {
		cryptotest.SetGlobalRandom(t, uint64(1000+i))
		data := generateVector(t, vc, byte(i))
		if err := os.WriteFile(filepath.Join(vectorDir, vc.name+".txt"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func generateVector(t *testing.T, vc vectorCase, seed byte) []byte {
	ccfg, scfg := vectorConfigs(t, vc)
	crand := &recorder{r: rand.NewChaCha8([32]byte{seed, 'c'})}
	srand := &recorder{r: rand.NewChaCha8([32]byte{seed, 's'})}
	ccfg.Rand, scfg.Rand = crand, srand
	var encs []encapsulation
	hooks := &testHooks{encapsulate: func(to kemPublic, info []byte) ([]byte, []byte, error) {
		enc, secret, err := to.Encapsulate(info)
		encs = append(encs, encapsulation{info, enc, secret})
		return enc, secret, err
	}}
	if vc.certified {
		certifyVector(t, ccfg, scfg, vectorTime)
	}
	var seedKey []byte
	if vc.profile == Seed {
		k, err := suite.RSAOAEP.Generate(2048)
		if err != nil {
			t.Fatal(err)
		}
		hooks.seedKey = k
		seedKey, _ = k.MarshalPKCS8()
	}
	ccfg.hooks, scfg.hooks = hooks, hooks
	log, err := runVector(t, ccfg, scfg, nil)
	if err != nil {
		t.Fatalf("%s: %v", vc.name, err)
	}
	v := &vector{
		fields: map[string]string{
			"profile": vc.profile.String(), "comment": vc.comment,
			"server identity": orNone(vc.server), "client identity": orNone(vc.client),
			"pinned": yesNo(vc.pinned), "client rand": hex.EncodeToString(crand.got),
			"server rand": hex.EncodeToString(srand.got),
		},
		encs: encs, log: log,
	}
	if vc.certified {
		v.fields["ca"] = hex.EncodeToString(scfg.Certificate[1])
		v.fields["verified at"] = vectorTime.Format(time.RFC3339)
	}
	if vc.profile == Seed {
		v.fields["seed mode"] = map[bool]string{true: "identity", false: "fresh"}[vc.seedIdentity]
		if seedKey != nil {
			v.fields["seed key"] = hex.EncodeToString(seedKey)
		}
	} else {
		hs, cts, sts := scheduleOf(t, v, ccfg)
		v.fields["hs"], v.fields["client traffic"], v.fields["server traffic"] = hex.EncodeToString(hs), hex.EncodeToString(cts), hex.EncodeToString(sts)
	}
	return v.marshal()
}

// vectorLog is what one run of a vector sent.
type vectorLog struct {
	msgs    [][]byte
	records []loggedRecord
}

type loggedRecord struct {
	c2s          bool
	typ          RecordType
	data, record []byte
}

// runVector runs a client and a server with the given configs: the
// handshake, passing each message through mutate (if not nil) on its
// way, then vectorRecords. It returns what was sent and the first error.
func runVector(tb testing.TB, ccfg, scfg *Config, mutate func(i int, msg []byte) []byte) (*vectorLog, error) {
	c, err := NewClientSession(ccfg)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := NewServerSession(scfg)
	if err != nil {
		tb.Fatal(err)
	}
	log := &vectorLog{}
	for turn := 0; !(c.HandshakeComplete() && s.HandshakeComplete()); turn++ {
		from, to := s, c
		if (turn%2 == 0) == (ccfg.profile().id == V2) {
			from, to = c, s
		}
		msg, err := from.NextHandshakeMessage()
		if err != nil {
			return log, err
		}
		if msg == nil || turn > 4 {
			return log, fmt.Errorf("no handshake message at turn %d", turn)
		}
		log.msgs = append(log.msgs, bytes.Clone(msg))
		if mutate != nil {
			msg = mutate(len(log.msgs)-1, msg)
		}
		if _, err := to.ReadHandshakeMessage(msg); err != nil {
			return log, err
		}
	}
	for _, r := range vectorRecords {
		if r.typ == RecordKeyUpdate && ccfg.profile().id == Seed {
			continue
		}
		if err := runRecord(c, s, r.c2s, r.typ, []byte(r.data), log); err != nil {
			return log, err
		}
	}
	return log, nil
}

func runRecord(c, s *Session, c2s bool, typ RecordType, data []byte, log *vectorLog) error {
	from, to := s, c
	if c2s {
		from, to = c, s
	}
	var rec []byte
	var err error
	switch typ {
	case RecordData:
		rec, err = from.Seal(nil, data)
	case RecordKeyUpdate:
		rec, err = from.SealKeyUpdate(nil)
	case RecordClose:
		rec, err = from.SealClose(nil)
	}
	if err != nil {
		return err
	}
	log.records = append(log.records, loggedRecord{c2s, typ, data, bytes.Clone(rec)})
	gotTyp, got, err := to.Open(rec)
	switch {
	case err != nil:
		return err
	case gotTyp != typ || !bytes.Equal(got, data):
		return fmt.Errorf("record opened as %v %q, want %v %q", gotTyp, got, typ, data)
	}
	return nil
}

// vector is one parsed or generated vector file.
type vector struct {
	name   string
	fields map[string]string
	encs   []encapsulation
	log    *vectorLog
}

var vectorFieldOrder = []string{
	"profile", "comment", "server identity", "client identity", "pinned", "ca", "verified at", "seed mode", "seed key",
	"client rand", "server rand",
}

func (v *vector) marshal() []byte {
	var b bytes.Buffer
	for _, k := range vectorFieldOrder {
		if val, ok := v.fields[k]; ok {
			fmt.Fprintf(&b, "%s: %s\n", k, val)
		}
	}
	for _, e := range v.encs {
		fmt.Fprintf(&b, "encapsulation: %s %x %x\n", hexOrDash(e.info), e.enc, e.secret)
	}
	for i, m := range v.log.msgs {
		fmt.Fprintf(&b, "m%d: %x\n", i+1, m)
	}
	for _, k := range []string{"hs", "client traffic", "server traffic"} {
		if val, ok := v.fields[k]; ok {
			fmt.Fprintf(&b, "%s: %s\n", k, val)
		}
	}
	for _, r := range v.log.records {
		dir := map[bool]string{true: "c2s", false: "s2c"}[r.c2s]
		fmt.Fprintf(&b, "record: %s %s %s %x\n", dir, recordTypeNames[r.typ], hexOrDash(r.data), r.record)
	}
	return b.Bytes()
}

func parseVector(name string, data []byte) (*vector, error) {
	v := &vector{name: name, fields: map[string]string{}, log: &vectorLog{}}
	for i, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		key, val, ok := strings.Cut(line, ": ")
		if !ok {
			return nil, fmt.Errorf("line %d: no field", i+1)
		}
		if err := v.parseField(key, val); err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
	}
	return v, nil
}

func (v *vector) parseField(key, val string) error {
	words := strings.Fields(val)
	switch {
	case key == "encapsulation" && len(words) == 3:
		b, err := hexWords(words)
		v.encs = append(v.encs, encapsulation{b[0], b[1], b[2]})
		return err
	case key == "record" && len(words) == 4:
		b, err := hexWords(words[2:])
		typ := slices.IndexFunc([]RecordType{RecordData, RecordKeyUpdate, RecordClose}, func(t RecordType) bool { return recordTypeNames[t] == words[1] })
		if typ < 0 || (words[0] != "c2s" && words[0] != "s2c") {
			return errors.New("bad record line")
		}
		v.log.records = append(v.log.records, loggedRecord{words[0] == "c2s", RecordType(typ), b[0], b[1]})
		return err
	case len(key) == 2 && key[0] == 'm':
		b, err := hex.DecodeString(val)
		v.log.msgs = append(v.log.msgs, b)
		return err
	}
	v.fields[key] = val
	return nil
}

// hexOrDash writes an empty byte string as "-".
func hexOrDash(b []byte) string {
	if len(b) == 0 {
		return "-"
	}
	return hex.EncodeToString(b)
}

func hexWords(words []string) ([][]byte, error) {
	out := make([][]byte, len(words))
	for i, w := range words {
		if w == "-" {
			continue
		}
		b, err := hex.DecodeString(w)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

func (v *vector) hex(tb testing.TB, key string) []byte {
	b, err := hex.DecodeString(v.fields[key])
	if err != nil {
		tb.Fatalf("%s: %s: %v", v.name, key, err)
	}
	return b
}

func loadVectors(tb testing.TB) []*vector {
	files, err := filepath.Glob(filepath.Join(vectorDir, "*.txt"))
	if err != nil || len(files) < len(vectorCases) {
		tb.Fatalf("%d vector files in %s (%v); regenerate with -update", len(files), vectorDir, err)
	}
	var vs []*vector
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		v, err := parseVector(filepath.Base(f), data)
		if err != nil {
			tb.Fatalf("%s: %v", f, err)
		}
		vs = append(vs, v)
	}
	return vs
}

// configs rebuilds the ends of a stored vector: its identities, its
// randomness as Config.Rand, and hooks that stand the stored
// encapsulations in for fresh ones, each only for the key it was made
// to (to any other key, a real encapsulation).
func (v *vector) configs(tb testing.TB) (client, server *Config) {
	tb.Helper()
	p, err := ParseProfile(v.fields["profile"])
	if err != nil {
		tb.Fatal(err)
	}
	vc := vectorCase{profile: p, pinned: v.fields["pinned"] == "yes", seedIdentity: v.fields["seed mode"] == "identity", certified: v.fields["ca"] != ""}
	if n := v.fields["server identity"]; n != "none" {
		vc.server = n
	}
	if n := v.fields["client identity"]; n != "none" {
		vc.client = n
	}
	client, server = vectorConfigs(tb, vc)
	if vc.certified {
		v.certifiedConfigs(tb, client, server)
	}
	client.Rand = bytes.NewReader(v.hex(tb, "client rand"))
	server.Rand = bytes.NewReader(v.hex(tb, "server rand"))
	// The vectors replay their stored initial message on purpose: the
	// stored seed key is each run's own epoch (seedEpochNow), a server
	// that never saw it.
	hooks := &testHooks{}
	if k := v.fields["seed key"]; k != "" {
		ex, _, err := suite.ParsePKCS8(v.hex(tb, "seed key"))
		if err != nil {
			tb.Fatal(err)
		}
		hooks.seedKey = ex
	}
	targets := v.targets(tb, client, server, hooks)
	hooks.encapsulate = func(to kemPublic, info []byte) ([]byte, []byte, error) {
		for i, e := range v.encs {
			if bytes.Equal(e.info, info) && bytes.Equal(keyBytesOf(to), targets[i].pub) {
				return e.enc, e.secret, nil
			}
		}
		return to.Encapsulate(info)
	}
	client.hooks, server.hooks = hooks, hooks
	return client, server
}

// kemTarget is the key a stored encapsulation was made to.
type kemTarget struct {
	pub  []byte
	priv kemPrivate
}

// targets finds, for each stored encapsulation, the key it was made to,
// from its info: the server's, the ephemeral (made from the first bytes
// of the client's randomness), the client's, or the seed key.
func (v *vector) targets(tb testing.TB, client, server *Config, hooks *testHooks) []kemTarget {
	out := make([]kemTarget, len(v.encs))
	for i, e := range v.encs {
		switch string(e.info) {
		case infoResponderStatic:
			out[i] = kemTarget{server.Identity.Recipient().ExchangeKeyBytes(), server.Identity}
		case infoInitiatorStatic:
			out[i] = kemTarget{client.Identity.Recipient().ExchangeKeyBytes(), client.Identity}
		case infoInitiatorEphemeral:
			alg := suite.Hybrid
			if p := client.Peer; p != nil && p.ExchangeAlg() == keyblob.ExchangeX25519 {
				alg = suite.X25519
			}
			eph, err := alg.NewEphemeral(v.hex(tb, "client rand")[:suite.EphemeralSeedSize])
			if err != nil {
				tb.Fatal(err)
			}
			priv, _ := suite.KEMPrivateOf(eph)
			out[i] = kemTarget{eph.Public().Bytes(), priv}
		case "":
			out[i] = v.seedTarget(tb, server, hooks)
		default:
			tb.Fatalf("%s: encapsulation with unknown info %q", v.name, e.info)
		}
	}
	return out
}

func (v *vector) seedTarget(tb testing.TB, server *Config, hooks *testHooks) kemTarget {
	if hooks.seedKey == nil {
		tb.Fatalf("%s: a seed vector without its seed key", v.name)
	}
	priv, _ := suite.KEMPrivateOf(hooks.seedKey)
	return kemTarget{hooks.seedKey.Public().Bytes(), priv}
}

// keyBytesOf returns the canonical encoding of a KEM public key.
func keyBytesOf(to kemPublic) []byte {
	switch k := to.(type) {
	case *keyblob.Recipient:
		return k.ExchangeKeyBytes()
	case interface{ Bytes() []byte }:
		return k.Bytes()
	}
	panic(fmt.Sprintf("no key bytes for %T", to))
}

// scheduleOf computes the v2 key schedule of a vector from its stored
// messages and secrets alone, as spec/channel.md section 4.3 writes it.
func scheduleOf(tb testing.TB, v *vector, client *Config) (hs, cts, sts []byte) {
	m := v.log.msgs
	if len(m) != 3 && len(m) != 5 {
		tb.Fatalf("%s: %d handshake messages", v.name, len(m))
	}
	var sAlg uint8
	var sKey []byte
	if p := client.Peer; p != nil || len(m) == 5 { // pinned, or certified (its key is the server's)
		if p == nil {
			p = testIdentity(tb, v.fields["server identity"]).Recipient()
		}
		sAlg, sKey = uint8(p.ExchangeAlg()), p.ExchangeKeyBytes()
	}
	secretOf := func(info string) []byte {
		for _, e := range v.encs {
			if string(e.info) == info {
				return e.secret
			}
		}
		return nil
	}
	ks := newKeySchedule(secretOf(infoResponderStatic), secretOf(infoInitiatorEphemeral), secretOf(infoInitiatorStatic))
	t := newTranscript(sAlg, sKey)
	for _, msg := range m {
		t.add(msg)
	}
	cts, sts = ks.traffic(t.hash(nil))
	return ks.hs, cts, sts
}

// TestVectors checks every stored vector: the real ends make and accept
// exactly its bytes, its encapsulations decapsulate to its secrets, and
// its key schedule is the spec's.
func TestVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.name, func(t *testing.T) {
			ccfg, scfg := v.configs(t)
			log, err := runVector(t, ccfg, scfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			v.compare(t, log, ccfg)
			v.checkEncapsulations(t, ccfg, scfg)
			if v.fields["profile"] == "v2" {
				hs, cts, sts := scheduleOf(t, v, ccfg)
				if !bytes.Equal(hs, v.hex(t, "hs")) || !bytes.Equal(cts, v.hex(t, "client traffic")) || !bytes.Equal(sts, v.hex(t, "server traffic")) {
					t.Error("key schedule differs from the stored secrets")
				}
			}
		})
	}
}

// compare checks a run against the stored bytes. A signature by an RSA
// identity is randomized (RSA-PSS): the server's hello must then have the
// stored key, and the stored hello (with its signature) must verify.
func (v *vector) compare(t *testing.T, log *vectorLog, ccfg *Config) {
	if len(log.msgs) != len(v.log.msgs) || len(log.records) != len(v.log.records) {
		t.Fatalf("%d messages and %d records, stored %d and %d", len(log.msgs), len(log.records), len(v.log.msgs), len(v.log.records))
	}
	for i, m := range log.msgs {
		if !bytes.Equal(m, v.log.msgs[i]) && !v.sameSeedHello(t, i, m, ccfg) {
			t.Errorf("m%d differs:\n got %x\nwant %x", i+1, m, v.log.msgs[i])
		}
	}
	for i, r := range log.records {
		if !bytes.Equal(r.record, v.log.records[i].record) || !bytes.Equal(r.data, v.log.records[i].data) {
			t.Errorf("record %d differs", i)
		}
	}
}

func (v *vector) sameSeedHello(t *testing.T, i int, m []byte, ccfg *Config) bool {
	if v.fields["profile"] != "seed" || i != 0 || ccfg.Peer == nil || ccfg.Peer.SignatureAlg() != keyblob.SignatureRSAPSS {
		return false
	}
	got, err1 := parseSeedHello(m)
	want, err2 := parseSeedHello(v.log.msgs[0])
	return err1 == nil && err2 == nil && bytes.Equal(got.der, want.der) &&
		ccfg.Peer.Verify(seedSignatureContext, want.der, want.sig) == nil
}

func (v *vector) checkEncapsulations(t *testing.T, ccfg, scfg *Config) {
	targets := v.targets(t, ccfg, scfg, scfg.hooks)
	for i, e := range v.encs {
		got, err := targets[i].priv.Decapsulate(e.enc, e.info)
		if err != nil || !bytes.Equal(got, e.secret) {
			t.Errorf("encapsulation %d (%q) does not decapsulate to its secret: %v", i, e.info, err)
		}
	}
}

// TestVectorFlipsAndTruncations runs every stored vector with one
// message changed on its way: one bit flipped (at every byte of messages
// up to 64 bytes and of every record, at 128 spread bytes of longer
// messages, 32 in -short mode), or cut to a strict prefix (every length up to 64, then 32
// spread ones). No changed message may yield a session that agrees.
func TestVectorFlipsAndTruncations(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.name, func(t *testing.T) {
			ccfg, scfg := v.configs(t)
			for i, m := range v.log.msgs {
				for _, pos := range spread(len(m), flipCount()) {
					flip := func(j int, msg []byte) []byte {
						if j == i {
							msg = bytes.Clone(msg)
							msg[pos] ^= 1 << (pos % 8)
						}
						return msg
					}
					v.mustFail(t, ccfg, scfg, flip, fmt.Sprintf("m%d bit flip at %d", i+1, pos))
				}
				for _, n := range spread(len(m), 32) {
					cut := func(j int, msg []byte) []byte {
						if j == i {
							msg = msg[:n]
						}
						return msg
					}
					v.mustFail(t, ccfg, scfg, cut, fmt.Sprintf("m%d cut to %d bytes", i+1, n))
				}
			}
			v.recordFlips(t)
		})
	}
}

// flipCount is how many bit flips of a long message TestVectorFlipsAndTruncations
// tries: 128, or 32 in -short mode.
func flipCount() int {
	if testing.Short() {
		return 32
	}
	return 128
}

// spread returns every index below n if n <= 64, else count indexes
// spread over it, the first and last included.
func spread(n, count int) []int {
	var out []int
	if n <= 64 {
		for i := range n {
			out = append(out, i)
		}
		return out
	}
	for i := range count {
		out = append(out, i*(n-1)/(count-1))
	}
	return slices.Compact(out)
}

// mustFail runs a vector with a mutation and fails the test if the run
// completes: a changed handshake message must end the handshake, or the
// records must fail to open.
func (v *vector) mustFail(t *testing.T, ccfg, scfg *Config, mutate func(int, []byte) []byte, what string) {
	t.Helper()
	c, s := *ccfg, *scfg // fresh randomness readers
	c.Rand, s.Rand = bytes.NewReader(v.hex(t, "client rand")), bytes.NewReader(v.hex(t, "server rand"))
	if _, err := runVector(t, &c, &s, mutate); err == nil {
		t.Errorf("%s: the session still worked", what)
	}
}

// recordFlips flips every bit position's byte of every stored record and
// cuts it, and checks that the receiver refuses it with ErrAuth and then
// still opens the genuine record (the forgery did not advance it).
func (v *vector) recordFlips(t *testing.T) {
	ccfg, scfg := v.configs(t)
	c, s := sessions(t, ccfg, scfg)
	for i, r := range v.log.records {
		to := c
		if r.c2s {
			to = s
		}
		for pos := range r.record {
			bad := bytes.Clone(r.record)
			bad[pos] ^= 1 << (pos % 8)
			if _, _, err := to.Open(bad); err != ErrAuth {
				t.Fatalf("record %d flipped at %d: %v, want ErrAuth", i, pos, err)
			}
		}
		for n := range len(r.record) {
			if _, _, err := to.Open(bytes.Clone(r.record[:n])); err != ErrAuth {
				t.Fatalf("record %d cut to %d: %v, want ErrAuth", i, n, err)
			}
		}
		if _, data, err := to.Open(bytes.Clone(r.record)); err != nil || !bytes.Equal(data, r.data) {
			t.Fatalf("record %d after the forgeries: %v", i, err)
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// vectorConfigs returns the configs of a vector case, without randomness
// or hooks.
func vectorConfigs(tb testing.TB, vc vectorCase) (client, server *Config) {
	server = &Config{Profile: vc.profile}
	client = &Config{Profile: vc.profile, Insecure: !vc.pinned}
	if vc.server != "" {
		id := testIdentity(tb, vc.server)
		server.Identity = id
		if vc.pinned {
			client.Peer = id.Recipient()
		}
	}
	if vc.client != "" {
		client.Identity = testIdentity(tb, vc.client)
	}
	if vc.seedIdentity {
		server.SeedKey = SeedKeyIdentity
	}
	if vc.certified {
		client.Insecure = false
	}
	return client, server
}

// certifyVector makes a CA (alice-hybrid, valid a century) and a
// certificate of the server for db.example.com, for a certified vector.
func certifyVector(tb testing.TB, client, server *Config, now time.Time) {
	caID := testIdentity(tb, "alice-hybrid")
	caDER, err := cert.NewCA(caID, "Vector CA", 100*365*24*time.Hour, now)
	if err != nil {
		tb.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		tb.Fatal(err)
	}
	leaf, err := cert.Certify(ca, caID, server.Identity, cert.Names{DNS: []string{"db.example.com"}}, 99*365*24*time.Hour, now)
	if err != nil {
		tb.Fatal(err)
	}
	server.Certificate = [][]byte{leaf, caDER}
	client.VerifyServerCertificate = verifierAt(ca, now)
}

// certifiedConfigs rebuilds a certified vector's ends: the server's
// chain from m2, the client's check from the fields ca and verified at.
func (v *vector) certifiedConfigs(tb testing.TB, client, server *Config) {
	chain, err := parseCertificate(typeServerCertificate, v.log.msgs[1])
	if err != nil {
		tb.Fatal(err)
	}
	server.Certificate = chain
	ca, err := x509.ParseCertificate(v.hex(tb, "ca"))
	if err != nil {
		tb.Fatal(err)
	}
	at, err := time.Parse(time.RFC3339, v.fields["verified at"])
	if err != nil {
		tb.Fatal(err)
	}
	client.VerifyServerCertificate = verifierAt(ca, at)
}

// verifierAt checks a server chain for db.example.com against ca at a
// fixed time.
func verifierAt(ca *x509.Certificate, at time.Time) func([][]byte) (*Certified, error) {
	return func(chain [][]byte) (*Certified, error) {
		certs, err := cert.ParseDERChain(chain)
		if err != nil {
			return nil, err
		}
		vf, err := cert.Verify(certs, cert.VerifyOptions{Roots: []*x509.Certificate{ca}, Name: "db.example.com", Usage: cert.Server, Time: at})
		if err != nil {
			return nil, err
		}
		return &Certified{Recipient: vf.Recipient, Name: "db.example.com"}, nil
	}
}
