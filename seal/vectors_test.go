package seal

// Sealed message test vectors, in the style of age's CCTV test kit.
//
// TestGenerateSealedVectors (run with -update) writes testdata/sealed of
// the module; TestSealedVectors, which always runs, checks every vector
// against the code. Each vector is a file NAME.txt of "name: value" header
// lines, a blank line and the message, armored. A binary message is the
// file NAME.bin beside it, and the .txt body is then empty. Headers:
//
//	expect: CLASS         spec/sealed.md, 7: success, no match, header failure,
//	                      MAC failure, payload failure, armor failure, not signed,
//	                      wrong sender, expired, too old, future or replay
//	identity: FILE        an identity in testdata/sealed/keys opens it, or
//	passphrase: TEXT      this passphrase opens it, or
//	session key: FILE     this session key file in testdata/sealed/keys
//	from: FILE            optional: the sender required (a recipient file in keys)
//	now: TIME             optional: the opener's clock, RFC 3339 (else the real time)
//	max-age: SECONDS      optional: the opener's maximum age, in decimal seconds
//	seen: HEX             optional: open with a replay cache that already holds
//	                      this 32-byte replay identifier
//	payload sha256: HEX   on success, the SHA-256 of the plaintext
//	comment: TEXT
//
// Every body, .txt or .bin, is told armored or binary by the one rule of
// spec/sealed.md section 4 (Dearmor), as any decoder must: a .txt body
// that the rule finds not armored is read as binary. Every message is
// opened through the streaming Reader and, for .bin files, through the
// file path too; both must give the class expected.
//
// Generation is deterministic: every key and vector is made right after
// testing/cryptotest.SetGlobalRandom with a seed derived from its name, so
// running the generator twice writes identical files. A later Go may
// consume randomness differently and write other (equally valid) vectors;
// TestSealedVectors only checks the stored files and does not depend on it.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"testing/cryptotest"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/format"
	"github.com/keyblob/keyblob/internal/stream"
	"github.com/keyblob/keyblob/replay"
	"github.com/keyblob/keyblob/replay/sqlitecache"
)

var update = flag.Bool("update", false, "regenerate the sealed message vectors in testdata/sealed (with -run TestGenerateSealedVectors)")

const (
	sealedDir     = "../testdata/sealed"
	sealedKeysDir = sealedDir + "/keys"

	minSealedVectors  = 60
	minVectorsOfClass = 5
	maxSealedTestdata = 1 << 20
)

// sealedTime is the creation time of every generated message.
var sealedTime = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// sealedKeys are the identities of testdata/sealed/keys.
var sealedKeys = []string{"alice-x25519", "bob-x25519", "bob-hybrid", "carol-rsa-2048", "mallory-x25519"}

// Result classes of the opener's own checks (spec/sealed.md, 5 and 7), as
// errorClass names them.
const (
	classNotSigned   = "not signed"
	classWrongSender = "wrong sender"
	classExpired     = "expired"
	classTooOld      = "too old"
	classFuture      = "future"
	classReplay      = "replay"
)

var vectorClasses = []string{classSuccess, classNoMatch, classHeader, classMAC, classPayload, classArmor,
	classNotSigned, classWrongSender, classExpired, classTooOld, classFuture, classReplay}

// minVectorsOf is the fewest vectors a class must have: minVectorsOfClass
// for the failures of the message, fewer for the opener's own checks, whose
// inputs are few.
func minVectorsOf(class string) int {
	switch class {
	case classTooOld, classFuture:
		return 1
	case classNotSigned, classWrongSender, classExpired, classReplay:
		return 3
	}
	return minVectorsOfClass
}

type sealedVectorFile struct {
	path    string
	headers map[string]string
	body    []byte
	binary  bool
}

func readSealedVector(t testing.TB, path string) *sealedVectorFile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	head, body, ok := bytes.Cut(data, []byte("\n\n"))
	if !ok {
		t.Fatalf("%s: no blank line after the headers", path)
	}
	v := &sealedVectorFile{path: path, headers: map[string]string{}, body: body}
	for _, line := range strings.Split(string(head), "\n") {
		name, value, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("%s: malformed header line %q", path, line)
		}
		if _, dup := v.headers[name]; dup {
			t.Fatalf("%s: repeated header %q", path, name)
		}
		v.headers[name] = value
	}
	bin := strings.TrimSuffix(path, ".txt") + ".bin"
	if raw, err := os.ReadFile(bin); err == nil {
		if len(body) != 0 {
			t.Fatalf("%s: both a body and %s", path, bin)
		}
		v.body, v.binary = raw, true
	} else if !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return v
}

func (v *sealedVectorFile) header(t testing.TB, name string) string {
	t.Helper()
	s, ok := v.headers[name]
	if !ok {
		t.Fatalf("%s: no %q header", v.path, name)
	}
	return s
}

// vectorOptions makes the open options a vector names.
func (v *sealedVectorFile) options(t testing.TB) *OpenOptions {
	t.Helper()
	opts := &OpenOptions{}
	n := 0
	if name, ok := v.headers["identity"]; ok {
		id, err := keyblob.ParseIdentity(readKeyFile(t, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		opts.Identities, n = []*keyblob.Identity{id}, n+1
	}
	if pass, ok := v.headers["passphrase"]; ok {
		opts.Passphrase, n = func() ([]byte, error) { return []byte(pass), nil }, n+1
	}
	if name, ok := v.headers["session key"]; ok {
		key, err := keyblob.ParseSessionKey(readKeyFile(t, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		opts.SessionKey, n = key, n+1
	}
	if n != 1 {
		t.Fatalf("%s: %d of identity, passphrase and session key, want 1", v.path, n)
	}
	if name, ok := v.headers["from"]; ok {
		r, err := keyblob.ParseRecipient(readKeyFile(t, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		opts.From = r
	}
	v.openerOptions(t, opts)
	return opts
}

// openerOptions sets the opener's clock (now:), maximum age (max-age:) and
// replay cache (seen:). The cache is a new one for every call, holding
// only the id seen, so that each path of a vector starts from it.
func (v *sealedVectorFile) openerOptions(t testing.TB, opts *OpenOptions) {
	t.Helper()
	now := time.Now()
	if s, ok := v.headers["now"]; ok {
		n, err := time.Parse(time.RFC3339, s)
		if err != nil || n.UTC().Format(time.RFC3339) != s {
			t.Fatalf("%s: now %q is not an RFC 3339 UTC time", v.path, s)
		}
		now = n
		opts.Now = func() time.Time { return n }
	}
	if s, ok := v.headers["max-age"]; ok {
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil || n == 0 || strconv.FormatUint(n, 10) != s {
			t.Fatalf("%s: max-age %q is not a positive decimal number of seconds", v.path, s)
		}
		opts.MaxAge = time.Duration(n) * time.Second
	}
	if s, ok := v.headers["seen"]; ok {
		id, err := hex.DecodeString(s)
		if err != nil || len(id) != replay.IDSize || hex.EncodeToString(id) != s {
			t.Fatalf("%s: seen %q is not %d bytes of lower-case hex", v.path, s, replay.IDSize)
		}
		c, err := sqlitecache.Open(filepath.Join(t.TempDir(), "replay.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if err := c.Record(context.Background(), id, now); err != nil {
			t.Fatal(err)
		}
		opts.Cache = c
	}
}

func readKeyFile(t testing.TB, name string) []byte {
	t.Helper()
	if name != filepath.Base(name) {
		t.Fatalf("key file %q is not a plain name", name)
	}
	data, err := os.ReadFile(filepath.Join(sealedKeysDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func sealedVectorFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(sealedDir, "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

func TestSealedVectors(t *testing.T) {
	files := sealedVectorFiles(t)
	if len(files) < minSealedVectors {
		t.Fatalf("%d vectors in %s, want at least %d", len(files), sealedDir, minSealedVectors)
	}
	counts := map[string]int{}
	for _, path := range files {
		v := readSealedVector(t, path)
		counts[v.header(t, "expect")]++
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) {
			checkSealedVector(t, v)
		})
	}
	for _, class := range vectorClasses {
		if counts[class] < minVectorsOf(class) {
			t.Errorf("%d vectors of class %s, want at least %d", counts[class], class, minVectorsOf(class))
		}
	}
	if len(counts) != len(vectorClasses) {
		t.Errorf("vector classes %v, want only %v", counts, vectorClasses)
	}
	var size int64
	filepath.Walk(sealedDir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			size += info.Size()
		}
		return nil
	})
	if size > maxSealedTestdata {
		t.Errorf("testdata/sealed holds %d bytes, over %d", size, maxSealedTestdata)
	}
	t.Logf("%d vectors: %v", len(files), counts)
}

func checkSealedVector(t *testing.T, v *sealedVectorFile) {
	expect := v.header(t, "expect")
	type result struct {
		path  string
		plain []byte
		err   error
	}
	var results []result
	// The streaming path, through the one rule that tells armor from
	// binary (spec/sealed.md section 4).
	var plain []byte
	src, err := Dearmor(bytes.NewReader(v.body))
	if err == nil {
		plain, err = readOpened(Open(src, v.options(t)))
	}
	results = append(results, result{"stream", plain, err})
	if v.binary {
		plain, err = openFile(t, v.body, v.options(t), false)
		results = append(results, result{"file", plain, err})
	}
	for _, r := range results {
		if got := errorClass(r.err); got != expect {
			t.Errorf("%s: got %s (%v), want %s", r.path, got, r.err, expect)
			continue
		}
		if expect != classSuccess {
			continue
		}
		sum := sha256.Sum256(r.plain)
		if got, want := hex.EncodeToString(sum[:]), v.header(t, "payload sha256"); got != want {
			t.Errorf("%s: payload sha256 %s, want %s", r.path, got, want)
		}
	}
	if expect == classSuccess && !v.binary {
		// A successful armored vector is canonical up to what the armor
		// allows: SP, HT, CR and LF around the block, CR LF for LF.
		bin, err := io.ReadAll(NewArmorReader(bytes.NewReader(v.body)))
		if err != nil {
			t.Fatal(err)
		}
		norm := bytes.ReplaceAll(bytes.Trim(v.body, " \t\r\n"), []byte("\r\n"), []byte("\n"))
		norm = append(norm, '\n')
		if !bytes.Equal(norm, format.Armor(format.PEMSealed, bin)) {
			t.Error("the armored message is not canonical")
		}
	}
}

func readOpened(o *Opener, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	return io.ReadAll(o.Reader())
}

// TestGenerateSealedVectors regenerates testdata/sealed. Run it with:
//
//	go test -run TestGenerateSealedVectors -update ./seal
func TestGenerateSealedVectors(t *testing.T) {
	if !*update {
		t.Skip("run with -update to regenerate the vectors in testdata/sealed")
	}
	g := &sealedGen{t: t, ids: map[string]*keyblob.Identity{}, written: map[string]bool{}}
	g.clean()
	g.keys()
	g.vectors()
	g.openerVectors()
	counts := map[string]int{}
	for _, v := range g.all {
		counts[v.expect]++
	}
	t.Logf("wrote %d vectors: %v", len(g.all), counts)
	// Check what was written with the same code as TestSealedVectors.
	TestSealedVectors(t)
}

type sealedGen struct {
	t       *testing.T
	ids     map[string]*keyblob.Identity
	written map[string]bool
	all     []*sealedVector
}

// A sealedVector is one vector to write.
type sealedVector struct {
	name, comment, expect      string
	identity, passphrase, from string
	sessionKey                 *keyblob.SessionKey // written to keys/NAME.session
	sessionKeyFile             string              // or an existing session key file
	now                        time.Time           // the opener's clock, if not zero
	maxAge                     time.Duration       // the opener's maximum age, if not zero
	seen                       []byte              // a replay identifier already in the cache
	plain                      []byte              // on success
	msg                        []byte              // the binary message
	text                       []byte              // the exact armored body, if not msg's canonical armor
	binary                     bool                // write msg as NAME.bin
}

// seed resets the global random source to a seed derived from name, so
// each key and vector is reproducible on its own.
func (g *sealedGen) seed(name string) {
	h := fnv.New64a()
	io.WriteString(h, name)
	cryptotest.SetGlobalRandom(g.t, h.Sum64())
}

func (g *sealedGen) clean() {
	for _, dir := range []string{sealedDir, sealedKeysDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			g.t.Fatal(err)
		}
		for _, pattern := range []string{"*.txt", "*.bin", "*.key", "*.pub", "*.session"} {
			old, _ := filepath.Glob(filepath.Join(dir, pattern))
			for _, f := range old {
				if err := os.Remove(f); err != nil {
					g.t.Fatal(err)
				}
			}
		}
	}
	// The vectors are exact bytes (CRLF and CR among them): no line-end
	// conversion on checkout.
	g.write(filepath.Join(sealedDir, ".gitattributes"), []byte("* -text\n"))
}

func (g *sealedGen) write(path string, data []byte) {
	if g.written[path] {
		g.t.Fatalf("%s written twice", path)
	}
	g.written[path] = true
	if err := os.WriteFile(path, data, 0o644); err != nil {
		g.t.Fatal(err)
	}
}

func (g *sealedGen) keys() {
	for _, name := range sealedKeys {
		g.seed("identity " + name)
		_, kind, _ := strings.Cut(name, "-")
		id, err := keyblob.GenerateIdentity(kind)
		if err != nil {
			g.t.Fatal(err)
		}
		file, err := id.MarshalPEM()
		if err != nil {
			g.t.Fatal(err)
		}
		g.write(filepath.Join(sealedKeysDir, name+".key"), file)
		g.write(filepath.Join(sealedKeysDir, name+".pub"), []byte(id.Recipient().String()+"\n"))
		g.ids[name] = id
	}
}

func (g *sealedGen) id(name string) *keyblob.Identity {
	id, ok := g.ids[name]
	if !ok {
		g.t.Fatalf("no identity %q", name)
	}
	return id
}

// add makes the vector named name right after seeding the random source
// with its name, and writes it.
func (g *sealedGen) add(name string, build func() *sealedVector) {
	g.seed("vector " + name)
	v := build()
	v.name = name
	g.writeVector(v)
	g.all = append(g.all, v)
}

func (g *sealedGen) writeVector(v *sealedVector) {
	t := g.t
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "expect: %s\n", v.expect)
	switch {
	case v.identity != "":
		fmt.Fprintf(&buf, "identity: %s.key\n", v.identity)
	case v.passphrase != "":
		fmt.Fprintf(&buf, "passphrase: %s\n", v.passphrase)
	case v.sessionKey != nil:
		file := v.name + ".session"
		g.write(filepath.Join(sealedKeysDir, file), v.sessionKey.MarshalPEM())
		fmt.Fprintf(&buf, "session key: %s\n", file)
	case v.sessionKeyFile != "":
		fmt.Fprintf(&buf, "session key: %s\n", v.sessionKeyFile)
	default:
		t.Fatalf("%s: no identity, passphrase or session key", v.name)
	}
	if v.from != "" {
		fmt.Fprintf(&buf, "from: %s.pub\n", v.from)
	}
	if !v.now.IsZero() {
		fmt.Fprintf(&buf, "now: %s\n", v.now.UTC().Format(time.RFC3339))
	}
	if v.maxAge != 0 {
		fmt.Fprintf(&buf, "max-age: %d\n", v.maxAge/time.Second)
	}
	if v.seen != nil {
		fmt.Fprintf(&buf, "seen: %x\n", v.seen)
	}
	if v.expect == classSuccess {
		sum := sha256.Sum256(v.plain)
		fmt.Fprintf(&buf, "payload sha256: %x\n", sum)
	}
	if strings.ContainsAny(v.comment, "\r\n") || v.comment == "" {
		t.Fatalf("%s: bad comment %q", v.name, v.comment)
	}
	fmt.Fprintf(&buf, "comment: %s\n\n", v.comment)
	switch {
	case v.text != nil:
		buf.Write(v.text)
	case v.binary:
		g.write(filepath.Join(sealedDir, v.name+".bin"), v.msg)
	default:
		buf.Write(armor(t, v.msg))
	}
	g.write(filepath.Join(sealedDir, v.name+".txt"), buf.Bytes())
}

// sealTo seals plain with NewWriter at sealedTime.
func (g *sealedGen) sealTo(plain []byte, opts Options) []byte {
	if opts.Time.IsZero() {
		opts.Time = sealedTime
	}
	return sealMsg(g.t, plain, &opts)
}

// craft assembles a message with a new session key: prefix (magic through
// sig-len) from the fields, stanzas from the function, everything else
// computed correctly.
func (g *sealedGen) craft(signer *keyblob.Identity, expires time.Time, stanzas func(key *keyblob.SessionKey, prefix []byte) []Stanza, plain []byte) ([]byte, *keyblob.SessionKey) {
	key := keyblob.NewSessionKey()
	prefix := prefixOf(g.t, sealedTime, expires, key.Serial(), signer)
	return assemble(g.t, key, prefix, stanzas(key, prefix), plain, signer), key
}

// craftPrefix is craft with a raw prefix.
func (g *sealedGen) craftPrefix(key *keyblob.SessionKey, prefix []byte, stanzas []Stanza, plain []byte, signer *keyblob.Identity) []byte {
	return assemble(g.t, key, prefix, stanzas, plain, signer)
}

// edited applies edit to the parsed header of msg and encodes it again,
// keeping its MAC, payload and trailer.
func (g *sealedGen) edited(msg []byte, edit func(f *headerFields)) []byte {
	header, p := g.editHeader(msg, edit)
	return join(header, p.payload, p.trailer)
}

// editHeader applies edit to the parsed header of msg and returns it
// encoded again, keeping its MAC, with the parts of msg.
func (g *sealedGen) editHeader(msg []byte, edit func(f *headerFields)) ([]byte, parts) {
	p := split(g.t, msg)
	return editedHeader(g.t, p.h, edit).bytes(), p
}

// stanzaBodyAt returns the offset in the message of the body of stanza k.
func stanzaBodyAt(h *Header, k int) int {
	off := h.prefixLen + 2
	for _, s := range h.Stanzas()[:k] {
		off += 3 + len(s.body)
	}
	return off + 3
}

// Offsets in a key blob body (spec/blob.md).
const (
	blobExchangeAlgAt = 6
	blobRecipientAt   = 7
	blobSessionAlgAt  = 39
	blobWrappedAt     = 68
)

// headerOf encodes and MACs a header and returns it with its payload
// cipher, for payloads built chunk by chunk.
func headerOf(t testing.TB, key *keyblob.SessionKey, prefix []byte, stanzas []Stanza) (*Header, *stream.Cipher) {
	t.Helper()
	h := headerAfter(t, prefix, stanzas)
	h.mac = h.computeMAC(key)
	c, err := stream.NewCipher(h.payloadKey(key))
	if err != nil {
		t.Fatal(err)
	}
	return h, c
}

func withByteAt(b []byte, i int, v byte) []byte {
	out := bytes.Clone(b)
	out[i] = v
	return out
}

func u16(n int) []byte { return binary.BigEndian.AppendUint16(nil, uint16(n)) }

func (g *sealedGen) vectors() {
	t := g.t
	alice, bob, bobPQ := g.id("alice-x25519"), g.id("bob-x25519"), g.id("bob-hybrid")
	carol, mallory := g.id("carol-rsa-2048"), g.id("mallory-x25519")
	hello := []byte("Hello, keyblob! A sealed message test vector.\n")
	toBob := Options{Recipients: recipientsOf(bob)}
	signedToBob := Options{Recipients: recipientsOf(bob), Signer: alice}
	multi := Options{Recipients: recipientsOf(bob, bobPQ, carol)}
	pass := "test vector passphrase"
	passOpts := Options{Passphrase: []byte(pass), Params: &cheapParams}
	bobStanza := func(key *keyblob.SessionKey, _ []byte) []Stanza {
		return []Stanza{blobStanza(t, key, bob.Recipient(), sealedTime)}
	}
	ok := func(msg, plain []byte, comment string) *sealedVector {
		return &sealedVector{expect: classSuccess, identity: "bob-x25519", msg: msg, plain: plain, comment: comment}
	}
	fail := func(expect string, msg []byte, comment string) *sealedVector {
		return &sealedVector{expect: expect, identity: "bob-x25519", msg: msg, comment: comment}
	}
	bin := func(v *sealedVector) *sealedVector { v.binary = true; return v }
	from := func(v *sealedVector, who string) *sealedVector { v.from = who; return v }
	as := func(v *sealedVector, who string) *sealedVector { v.identity = who; return v }

	// Success.
	g.add("x25519", func() *sealedVector {
		return ok(g.sealTo(hello, toBob), hello, "an X25519 recipient")
	})
	g.add("x25519-binary", func() *sealedVector {
		return bin(ok(g.sealTo(hello, toBob), hello, "an X25519 recipient, binary"))
	})
	g.add("hybrid", func() *sealedVector {
		return as(ok(g.sealTo(hello, Options{Recipients: recipientsOf(bobPQ)}), hello, "an MLKEM768-X25519 recipient"), "bob-hybrid")
	})
	g.add("rsa-2048", func() *sealedVector {
		return as(ok(g.sealTo(hello, Options{Recipients: recipientsOf(carol)}), hello, "an RSA-OAEP recipient"), "carol-rsa-2048")
	})
	g.add("multi-recipient-first", func() *sealedVector {
		return ok(g.sealTo(hello, multi), hello, "three recipients of three kinds; the first stanza opens")
	})
	g.add("multi-recipient-hybrid", func() *sealedVector {
		return as(ok(g.sealTo(hello, multi), hello, "three recipients of three kinds; the second stanza opens"), "bob-hybrid")
	})
	g.add("multi-recipient-rsa", func() *sealedVector {
		return as(ok(g.sealTo(hello, multi), hello, "three recipients of three kinds; the third stanza opens"), "carol-rsa-2048")
	})
	g.add("signed-ed25519", func() *sealedVector {
		return from(ok(g.sealTo(hello, signedToBob), hello, "signed by alice (Ed25519), alice required"), "alice-x25519")
	})
	g.add("signed-ed25519-no-from", func() *sealedVector {
		return ok(g.sealTo(hello, signedToBob), hello, "signed by alice, no sender required: the signature is still verified")
	})
	g.add("signed-rsa-pss", func() *sealedVector {
		return from(ok(g.sealTo(hello, Options{Recipients: recipientsOf(bob), Signer: carol}), hello, "signed by carol (RSA-PSS, 256-byte trailer), carol required"), "carol-rsa-2048")
	})
	g.add("empty", func() *sealedVector {
		return ok(g.sealTo(nil, toBob), nil, "an empty plaintext: one empty final chunk")
	})
	g.add("empty-signed", func() *sealedVector {
		return from(ok(g.sealTo(nil, signedToBob), nil, "an empty plaintext, signed"), "alice-x25519")
	})
	g.add("one-full-chunk", func() *sealedVector {
		plain := testPlaintext(stream.ChunkSize, 1)
		return bin(ok(g.sealTo(plain, toBob), plain, "exactly 64 KiB: one full final chunk"))
	})
	g.add("two-chunks-signed", func() *sealedVector {
		plain := testPlaintext(stream.ChunkSize+1, 2)
		return bin(from(ok(g.sealTo(plain, signedToBob), plain, "64 KiB + 1: a full chunk and a final chunk of one byte, signed"), "alice-x25519"))
	})
	g.add("expires-2100", func() *sealedVector {
		opts := toBob
		opts.Expires = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
		return ok(g.sealTo(hello, opts), hello, "expires in 2100")
	})
	g.add("created-epoch", func() *sealedVector {
		opts := toBob
		opts.Time = time.Unix(0, 0)
		return ok(g.sealTo(hello, opts), hello, "created at 0, 1970-01-01")
	})
	g.add("created-max", func() *sealedVector {
		msg, _ := g.craftMax(hello, bob)
		return ok(msg, hello, "created at 2^63-1, the largest time allowed")
	})
	g.add("passphrase", func() *sealedVector {
		return &sealedVector{expect: classSuccess, passphrase: pass, msg: g.sealTo(hello, passOpts), plain: hello,
			comment: "sealed to a passphrase (Argon2id t=1 m=8192 p=1)"}
	})
	g.add("passphrase-signed", func() *sealedVector {
		opts := passOpts
		opts.Signer = alice
		return &sealedVector{expect: classSuccess, passphrase: pass, from: "alice-x25519", msg: g.sealTo(hello, opts), plain: hello,
			comment: "sealed to a passphrase and signed by alice"}
	})
	g.add("session-key", func() *sealedVector {
		msg, key := g.craft(nil, time.Time{}, bobStanza, hello)
		return &sealedVector{expect: classSuccess, sessionKey: key, msg: msg, plain: hello, comment: "opened with its session key"}
	})
	g.add("unknown-stanzas-skipped", func() *sealedVector {
		msg, _ := g.craft(nil, time.Time{}, func(key *keyblob.SessionKey, _ []byte) []Stanza {
			return []Stanza{{typ: 0x7f, body: []byte("a recipient kind of a later version")}, blobStanza(t, key, bob.Recipient(), sealedTime), {typ: 0xff}}
		}, hello)
		return ok(msg, hello, "stanzas of types 0x7f and 0xff around bob's are skipped (but covered by the MAC)")
	})
	g.add("unknown-stanzas-skipped-signed", func() *sealedVector {
		msg, _ := g.craft(alice, time.Time{}, func(key *keyblob.SessionKey, _ []byte) []Stanza {
			return []Stanza{blobStanza(t, key, bob.Recipient(), sealedTime), {typ: 0x03, body: bytes.Repeat([]byte{0xaa}, 100)}}
		}, hello)
		return from(ok(msg, hello, "a stanza of type 0x03 after bob's is skipped; signed"), "alice-x25519")
	})
	g.add("1024-stanzas", func() *sealedVector {
		msg, _ := g.craft(nil, time.Time{}, func(key *keyblob.SessionKey, _ []byte) []Stanza {
			return append(unknownStanzas(MaxStanzas-1, 0), blobStanza(t, key, bob.Recipient(), sealedTime))
		}, hello)
		return ok(msg, hello, "1024 stanzas, the most allowed: 1023 empty unknown ones, then bob's")
	})
	g.add("stanza-16KiB", func() *sealedVector {
		msg, _ := g.craft(nil, time.Time{}, func(key *keyblob.SessionKey, _ []byte) []Stanza {
			return append(unknownStanzas(1, 16<<10), blobStanza(t, key, bob.Recipient(), sealedTime))
		}, hello)
		return bin(ok(msg, hello, "an unknown stanza of 16 KiB, the longest allowed"))
	})
	g.add("armor-crlf", func() *sealedVector {
		v := ok(g.sealTo(hello, toBob), hello, "armor with CRLF line ends")
		v.text = bytes.ReplaceAll(armor(t, v.msg), []byte("\n"), []byte("\r\n"))
		return v
	})
	g.add("armor-trailing-white-space", func() *sealedVector {
		v := ok(g.sealTo(hello, toBob), hello, "armor followed by white space")
		v.text = append(armor(t, v.msg), " \t\n\n  \n"...)
		return v
	})

	// No match.
	g.add("other-recipient", func() *sealedVector {
		return fail(classNoMatch, g.sealTo(hello, Options{Recipients: recipientsOf(mallory)}), "sealed to mallory only")
	})
	g.add("other-kind-same-person", func() *sealedVector {
		return fail(classNoMatch, g.sealTo(hello, Options{Recipients: recipientsOf(bobPQ)}), "sealed to bob's hybrid key, opened with his X25519 key")
	})
	g.add("passphrase-without-passphrase", func() *sealedVector {
		return fail(classNoMatch, g.sealTo(hello, passOpts), "sealed to a passphrase, opened with an identity")
	})
	g.add("identities-with-passphrase", func() *sealedVector {
		return &sealedVector{expect: classNoMatch, passphrase: pass, msg: g.sealTo(hello, toBob), comment: "sealed to bob, opened with a passphrase"}
	})
	g.add("session-key-other-serial", func() *sealedVector {
		msg, _ := g.craft(nil, time.Time{}, bobStanza, hello)
		return &sealedVector{expect: classNoMatch, sessionKeyFile: "session-key.session", msg: msg, comment: "the session key of vector session-key, whose serial is another"}
	})
	g.add("only-unknown-stanzas", func() *sealedVector {
		msg, _ := g.craft(nil, time.Time{}, func(*keyblob.SessionKey, []byte) []Stanza {
			return []Stanza{{typ: 0x7f, body: []byte("future")}}
		}, hello)
		return fail(classNoMatch, msg, "one stanza, of an unknown type")
	})
	g.add("recipient-fingerprint-flipped", func() *sealedVector {
		msg := g.sealTo(hello, toBob)
		at := stanzaBodyAt(split(t, msg).h, 0) + blobRecipientAt
		return fail(classNoMatch, flipped(msg, at, 0), "the recipient fingerprint of the only stanza flipped: no stanza is bob's")
	})

	// Header failures: parsing.
	g.add("empty-file", func() *sealedVector {
		return bin(fail(classHeader, []byte{}, "no bytes at all"))
	})
	base := func() []byte { return g.sealTo(hello, toBob) }
	for _, bad := range []struct {
		name    string
		at      int
		value   byte
		comment string
	}{
		{"bad-magic", 3, 'x', "magic kblx"},
		{"type-key-blob", 4, 'b', "the type byte of a key blob"},
		{"type-encrypted-file", 4, 'e', "the type byte of an encrypted file"},
		{"type-zero", 4, 0, "type byte 0"},
		{"version-0", 5, 0, "version 0"},
		{"version-2", 5, 2, "version 2"},
		{"created-over-max", 6, 0x80, "created is 2^63 or more"},
		{"expires-over-max", 14, 0x80, "expires is 2^63 or more"},
		{"signature-alg-3", 38, 3, "signature algorithm 3 is not defined"},
	} {
		g.add(bad.name, func() *sealedVector {
			return fail(classHeader, withByteAt(base(), bad.at, bad.value), bad.comment)
		})
	}
	for _, cut := range []struct {
		name    string
		at      func(h *Header) int
		comment string
	}{
		{"truncated-magic", func(*Header) int { return 3 }, "cut in the magic"},
		{"truncated-times", func(*Header) int { return 10 }, "cut in the creation time"},
		{"truncated-count", func(h *Header) int { return h.prefixLen + 1 }, "cut in the stanza count"},
		{"truncated-stanza", func(h *Header) int { return stanzaBodyAt(h, 0) + 50 }, "cut in the stanza body"},
		{"truncated-nonce", func(h *Header) int { return len(h.raw) - 8 }, "cut in the nonce"},
		{"truncated-mac", func(h *Header) int { return h.Size() - 1 }, "cut one byte before the end of the MAC"},
	} {
		g.add(cut.name, func() *sealedVector {
			msg := base()
			return bin(fail(classHeader, msg[:cut.at(split(t, msg).h)], cut.comment))
		})
	}

	// Header failures: rules broken under a valid MAC, payload and
	// signature, so that only a decoder that checks the rule refuses them.
	g.add("expires-at-creation", func() *sealedVector {
		msg, _ := g.craft(nil, sealedTime, bobStanza, hello)
		return fail(classHeader, msg, "expires equals created")
	})
	g.add("expires-before-creation", func() *sealedVector {
		msg, _ := g.craft(nil, sealedTime.Add(-time.Second), bobStanza, hello)
		return fail(classHeader, msg, "expires one second before created")
	})
	g.add("no-stanzas", func() *sealedVector {
		msg, _ := g.craft(nil, time.Time{}, func(*keyblob.SessionKey, []byte) []Stanza { return nil }, hello)
		return fail(classHeader, msg, "a stanza count of 0")
	})
	g.add("1025-stanzas", func() *sealedVector {
		msg, _ := g.craft(nil, time.Time{}, func(key *keyblob.SessionKey, _ []byte) []Stanza {
			return append(unknownStanzas(MaxStanzas, 0), blobStanza(t, key, bob.Recipient(), sealedTime))
		}, hello)
		return fail(classHeader, msg, "1025 stanzas, one more than allowed")
	})
	g.add("stanza-over-16KiB", func() *sealedVector {
		msg, _ := g.craft(nil, time.Time{}, func(key *keyblob.SessionKey, _ []byte) []Stanza {
			return append(unknownStanzas(1, 16<<10+1), blobStanza(t, key, bob.Recipient(), sealedTime))
		}, hello)
		return bin(fail(classHeader, msg, "an unknown stanza of 16 KiB + 1 byte"))
	})
	signedPrefix := func(key *keyblob.SessionKey, signer *keyblob.Identity) []byte {
		return prefixOf(t, sealedTime, time.Time{}, key.Serial(), signer)
	}
	signerKey := func(name, comment string, keyBytes func(p []byte) []byte, sigLen int, alg byte) {
		g.add(name, func() *sealedVector {
			key := keyblob.NewSessionKey()
			p := signedPrefix(key, alice)
			prefix := join(p[:38], []byte{alg}, u16(len(keyBytes(p))), keyBytes(p), u16(sigLen))
			return fail(classHeader, g.craftPrefix(key, prefix, bobStanza(key, nil), hello, alice), comment)
		})
	}
	aliceKey := func(p []byte) []byte { return p[41:73] }
	signerKey("signer-ed25519-31-bytes", "an Ed25519 signer key of 31 bytes", func(p []byte) []byte { return aliceKey(p)[:31] }, 64, 1)
	signerKey("signer-ed25519-33-bytes", "an Ed25519 signer key of 33 bytes", func(p []byte) []byte { return join(aliceKey(p), []byte{0}) }, 64, 1)
	signerKey("signer-rsa-alg-ed25519-key", "signature algorithm RSA-PSS with alice's Ed25519 key", aliceKey, 64, 2)
	signerKey("signer-key-over-1024-bytes", "a signer key of 1025 bytes", func([]byte) []byte { return make([]byte, 1025) }, 64, 1)
	signerKey("sig-len-65", "sig-len 65 for an Ed25519 key", aliceKey, 65, 1)
	signerKey("sig-len-0", "sig-len 0 for an Ed25519 key", aliceKey, 0, 1)
	small := func(h string) func([]byte) []byte {
		return func([]byte) []byte {
			b, err := hex.DecodeString(h)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
	signerKey("signer-ed25519-identity", "the Ed25519 identity point as the signer key: of small order, it would verify an all-identity signature on any message",
		small("0100000000000000000000000000000000000000000000000000000000000000"), 64, 1)
	signerKey("signer-ed25519-order-8", "an Ed25519 point of order 8 as the signer key",
		small("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"), 64, 1)
	signerKey("signer-ed25519-non-canonical", "an Ed25519 signer key with y = p, a non-canonical encoding",
		small("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"), 64, 1)
	carolDER := carol.Recipient().SigningKeyBytes()
	signerKey("signer-rsa-non-canonical-der", "carol's RSA key in DER with a long-form length of one byte too many", func([]byte) []byte {
		return join([]byte{0x30, 0x83, 0x00}, carolDER[2:])
	}, 256, 2)
	signerKey("signer-rsa-1024", "an RSA-PSS signer key of 1024 bits, under the minimum", func([]byte) []byte {
		k, err := rsa.GenerateKey(rand.Reader, 1024)
		if err != nil {
			t.Fatal(err)
		}
		return x509.MarshalPKCS1PublicKey(&k.PublicKey)
	}, 128, 2)
	g.add("sig-len-512-rsa-2048", func() *sealedVector {
		key := keyblob.NewSessionKey()
		p := signedPrefix(key, carol)
		prefix := join(p[:len(p)-2], u16(512))
		return fail(classHeader, g.craftPrefix(key, prefix, bobStanza(key, nil), hello, carol), "sig-len 512 for carol's 2048-bit RSA key")
	})

	passStanzas := func(order string) func(key *keyblob.SessionKey, prefix []byte) []Stanza {
		return func(key *keyblob.SessionKey, prefix []byte) []Stanza {
			ps := passphraseStanza(t, key, []byte(pass), cheapParams, prefix)
			bs := blobStanza(t, key, bob.Recipient(), sealedTime)
			switch order {
			case "pb":
				return []Stanza{ps, bs}
			case "bp":
				return []Stanza{bs, ps}
			case "pp":
				return []Stanza{ps, ps}
			}
			return []Stanza{ps, {typ: 0x7f}}
		}
	}
	for _, m := range []struct{ name, order, comment string }{
		{"passphrase-then-recipient", "pb", "a passphrase stanza, then bob's: a passphrase stanza must be alone"},
		{"recipient-then-passphrase", "bp", "bob's stanza, then a passphrase stanza"},
		{"two-passphrase-stanzas", "pp", "the same passphrase stanza twice"},
		{"passphrase-and-unknown-stanza", "pu", "a passphrase stanza and an unknown one"},
	} {
		g.add(m.name, func() *sealedVector {
			msg, _ := g.craft(nil, time.Time{}, passStanzas(m.order), hello)
			v := fail(classHeader, msg, m.comment)
			if m.order == "pu" || m.order == "pp" {
				v.identity, v.passphrase = "", pass
			}
			return v
		})
	}
	for _, p := range []struct {
		name         string
		time, memory uint32
		threads      uint8
		comment      string
	}{
		{"passphrase-params-absurd", 1000, 2 << 20, 1, "Argon2id with 1000 passes over 2 GiB: refused before any work"},
		{"passphrase-memory-2GiB", 1, 2 << 20, 1, "Argon2id memory of 2 GiB, over the 1 GiB limit"},
		{"passphrase-memory-under-8MiB", 1, 8<<10 - 1, 1, "Argon2id memory under 8 MiB"},
		{"passphrase-time-0", 0, 8 << 10, 1, "Argon2id time 0"},
		{"passphrase-time-17", 17, 8 << 10, 1, "Argon2id time 17, over 16"},
		{"passphrase-threads-0", 1, 8 << 10, 0, "Argon2id with no lane"},
		{"passphrase-threads-17", 1, 8 << 10, 17, "Argon2id with 17 lanes, over 16"},
	} {
		g.add(p.name, func() *sealedVector {
			msg, _ := g.craft(nil, time.Time{}, func(*keyblob.SessionKey, []byte) []Stanza {
				return []Stanza{{typ: StanzaPassphrase, body: passBody(p.time, p.memory, p.threads)}}
			}, hello)
			return &sealedVector{expect: classHeader, passphrase: pass, msg: msg, comment: p.comment}
		})
	}
	for _, n := range []int{passStanzaSize - 1, passStanzaSize + 1} {
		g.add(fmt.Sprintf("passphrase-stanza-%d-bytes", n), func() *sealedVector {
			msg, _ := g.craft(nil, time.Time{}, func(key *keyblob.SessionKey, prefix []byte) []Stanza {
				ps := passphraseStanza(t, key, []byte(pass), cheapParams, prefix)
				body := append(ps.Body(), 0)
				return []Stanza{{typ: StanzaPassphrase, body: body[:n]}}
			}, hello)
			return &sealedVector{expect: classHeader, passphrase: pass, msg: msg, comment: fmt.Sprintf("a passphrase stanza of %d bytes, not %d", n, passStanzaSize)}
		})
	}
	g.add("wrong-passphrase", func() *sealedVector {
		return &sealedVector{expect: classHeader, passphrase: "not the " + pass, msg: g.sealTo(hello, passOpts), comment: "the wrong passphrase: the stanza matches but does not unwrap"}
	})
	g.add("passphrase-wrapped-flipped", func() *sealedVector {
		msg := g.sealTo(hello, passOpts)
		at := stanzaBodyAt(split(t, msg).h, 0) + 25 + 5
		return &sealedVector{expect: classHeader, passphrase: pass, msg: flipped(msg, at, 0), comment: "a bit of the wrapped session key flipped"}
	})
	g.add("passphrase-salt-flipped", func() *sealedVector {
		msg := g.sealTo(hello, passOpts)
		at := stanzaBodyAt(split(t, msg).h, 0) + 9
		return &sealedVector{expect: classHeader, passphrase: pass, msg: flipped(msg, at, 0), comment: "a bit of the salt flipped"}
	})
	g.add("passphrase-serial-flipped", func() *sealedVector {
		return &sealedVector{expect: classHeader, passphrase: pass, msg: flipped(g.sealTo(hello, passOpts), 30, 0), comment: "a bit of the serial flipped: the wrap is bound to the header prefix"}
	})
	for _, w := range []struct{ name, who, comment string }{
		{"wrapped-flipped-x25519", "bob-x25519", "a bit of the X25519 wrapped key flipped"},
		{"wrapped-flipped-hybrid", "bob-hybrid", "a bit of the hybrid wrapped key flipped"},
		{"wrapped-flipped-rsa", "carol-rsa-2048", "a bit of the RSA-OAEP wrapped key flipped"},
	} {
		g.add(w.name, func() *sealedVector {
			msg, _ := g.craft(nil, time.Time{}, func(key *keyblob.SessionKey, _ []byte) []Stanza {
				s := blobStanza(t, key, g.id(w.who).Recipient(), sealedTime)
				s.body = flipped(s.body, blobWrappedAt+40, 3)
				return []Stanza{s}
			}, hello)
			return as(fail(classHeader, msg, w.comment+", with a valid MAC: the stanza matches but does not unwrap"), w.who)
		})
	}
	blobWith := func(name, comment string, body func(key *keyblob.SessionKey) []byte) {
		g.add(name, func() *sealedVector {
			msg, _ := g.craft(nil, time.Time{}, func(key *keyblob.SessionKey, _ []byte) []Stanza {
				return []Stanza{{typ: StanzaBlob, body: body(key)}}
			}, hello)
			return fail(classHeader, msg, comment)
		})
	}
	export := func(key *keyblob.SessionKey, opts keyblob.ExportOptions) []byte {
		b, err := keyblob.Export(key, bob.Recipient(), &opts)
		if err != nil {
			t.Fatal(err)
		}
		return b.Marshal()
	}
	blobWith("stanza-blob-signed", "bob's stanza is a signed key blob", func(key *keyblob.SessionKey) []byte {
		return export(key, keyblob.ExportOptions{Time: sealedTime, Signer: alice})
	})
	blobWith("stanza-blob-description", "bob's stanza has a description", func(key *keyblob.SessionKey) []byte {
		return export(key, keyblob.ExportOptions{Time: sealedTime, Description: "for bob"})
	})
	blobWith("stanza-blob-created-differs", "bob's stanza is dated a second after the header", func(key *keyblob.SessionKey) []byte {
		return export(key, keyblob.ExportOptions{Time: sealedTime.Add(time.Second)})
	})
	blobWith("stanza-blob-serial-differs", "bob's stanza holds another session key, of another serial", func(*keyblob.SessionKey) []byte {
		return export(keyblob.NewSessionKey(), keyblob.ExportOptions{Time: sealedTime})
	})
	blobWith("stanza-blob-armored", "bob's stanza is his key blob, but armored", func(key *keyblob.SessionKey) []byte {
		b, err := keyblob.Export(key, bob.Recipient(), &keyblob.ExportOptions{Time: sealedTime})
		if err != nil {
			t.Fatal(err)
		}
		return b.MarshalPEM()
	})
	blobWith("stanza-blob-trailing-byte", "bob's stanza has a byte after the key blob", func(key *keyblob.SessionKey) []byte {
		return join(export(key, keyblob.ExportOptions{Time: sealedTime}), []byte{0})
	})
	blobWith("stanza-blob-truncated", "bob's stanza lacks the last byte of the key blob", func(key *keyblob.SessionKey) []byte {
		b := export(key, keyblob.ExportOptions{Time: sealedTime})
		return b[:len(b)-1]
	})
	blobWith("stanza-blob-exchange-alg-9", "bob's stanza names exchange algorithm 9", func(key *keyblob.SessionKey) []byte {
		return withByteAt(export(key, keyblob.ExportOptions{Time: sealedTime}), blobExchangeAlgAt, 9)
	})
	blobWith("stanza-blob-session-alg-2", "bob's stanza names session algorithm 2", func(key *keyblob.SessionKey) []byte {
		return withByteAt(export(key, keyblob.ExportOptions{Time: sealedTime}), blobSessionAlgAt, 2)
	})
	blobWith("stanza-empty", "a recipient stanza with an empty body", func(*keyblob.SessionKey) []byte { return nil })
	g.add("header-created-flipped", func() *sealedVector {
		return fail(classHeader, flipped(base(), 13, 0), "the header's creation time no longer matches the stanza's")
	})
	g.add("header-serial-flipped", func() *sealedVector {
		return fail(classHeader, flipped(base(), 22, 0), "the header's serial no longer matches the stanza's")
	})

	// MAC failures.
	g.add("mac-first-byte-flipped", func() *sealedVector {
		msg := base()
		return fail(classMAC, flipped(msg, len(split(t, msg).h.raw), 0), "the first byte of the MAC flipped")
	})
	g.add("mac-last-byte-flipped", func() *sealedVector {
		msg := base()
		return fail(classMAC, flipped(msg, split(t, msg).h.Size()-1, 7), "the last byte of the MAC flipped")
	})
	g.add("nonce-flipped", func() *sealedVector {
		msg := base()
		return fail(classMAC, flipped(msg, len(split(t, msg).h.raw)-1, 0), "a bit of the nonce flipped")
	})
	g.add("expires-added", func() *sealedVector {
		return fail(classMAC, g.edited(base(), func(f *headerFields) { f.Expires = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC) }), "an expiry added to the header")
	})
	g.add("expires-removed", func() *sealedVector {
		opts := toBob
		opts.Expires = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
		return fail(classMAC, g.edited(g.sealTo(hello, opts), func(f *headerFields) { f.Expires = time.Time{} }), "the expiry removed from the header")
	})
	g.add("signer-swapped", func() *sealedVector {
		msg := g.edited(g.sealTo(hello, signedToBob), func(f *headerFields) { f.Signer = mallory.Recipient() })
		return fail(classMAC, msg, "alice's signer key replaced by mallory's, alice's signature kept")
	})
	g.add("signer-swapped-resigned", func() *sealedVector {
		header, p := g.editHeader(g.sealTo(hello, signedToBob), func(f *headerFields) { f.Signer = mallory.Recipient() })
		return from(fail(classMAC, join(header, p.payload, signMsg(t, mallory, header, p.payload)), "alice's signer key replaced by mallory's, and signed by mallory"), "mallory-x25519")
	})
	g.add("signer-stripped", func() *sealedVector {
		header, p := g.editHeader(g.sealTo(hello, signedToBob), func(f *headerFields) { f.Signer, f.SigLen = nil, 0 })
		return fail(classMAC, join(header, p.payload), "alice's signer key and signature removed")
	})
	g.add("signer-added", func() *sealedVector {
		header, p := g.editHeader(base(), func(f *headerFields) { f.Signer, f.SigLen = mallory.Recipient(), 64 })
		return fail(classMAC, join(header, p.payload, signMsg(t, mallory, header, p.payload)), "an unsigned message signed by mallory")
	})
	unknownMsg := func() []byte {
		msg, _ := g.craft(nil, time.Time{}, func(key *keyblob.SessionKey, _ []byte) []Stanza {
			return []Stanza{blobStanza(t, key, bob.Recipient(), sealedTime), {typ: 0x7f, body: []byte("future")}}
		}, hello)
		return msg
	}
	g.add("unknown-stanza-changed", func() *sealedVector {
		return fail(classMAC, g.edited(unknownMsg(), func(f *headerFields) { f.Stanzas[1].body = []byte("futurE") }), "the body of an unknown stanza changed")
	})
	g.add("unknown-stanza-removed", func() *sealedVector {
		return fail(classMAC, g.edited(unknownMsg(), func(f *headerFields) { f.Stanzas = f.Stanzas[:1] }), "an unknown stanza removed")
	})
	g.add("unknown-stanza-added", func() *sealedVector {
		return fail(classMAC, g.edited(base(), func(f *headerFields) { f.Stanzas = append(f.Stanzas, Stanza{typ: 0x7f}) }), "an unknown stanza added")
	})
	g.add("other-stanza-flipped", func() *sealedVector {
		msg := g.sealTo(hello, multi)
		at := stanzaBodyAt(split(t, msg).h, 0) + blobWrappedAt + 10
		return as(fail(classMAC, flipped(msg, at, 0), "bob's X25519 stanza flipped; carol's still opens, the MAC fails"), "carol-rsa-2048")
	})
	g.add("other-stanza-removed", func() *sealedVector {
		return as(fail(classMAC, g.edited(g.sealTo(hello, multi), func(f *headerFields) { f.Stanzas = f.Stanzas[2:] }), "bob's two stanzas removed; carol's still opens"), "carol-rsa-2048")
	})
	g.add("stanzas-reordered", func() *sealedVector {
		return fail(classMAC, g.edited(g.sealTo(hello, multi), func(f *headerFields) {
			f.Stanzas[0], f.Stanzas[2] = f.Stanzas[2], f.Stanzas[0]
		}), "the first and last stanzas swapped")
	})
	g.add("stanza-readdressed", func() *sealedVector {
		msg := g.sealTo(hello, Options{Recipients: recipientsOf(mallory), Signer: alice})
		key := sessionKeyOf(t, msg, mallory)
		return from(fail(classMAC, g.edited(msg, func(f *headerFields) {
			f.Stanzas = []Stanza{blobStanza(t, key, bob.Recipient(), sealedTime)}
		}), "mallory re-addresses alice's message to her to bob, keeping the signature"), "alice-x25519")
	})
	g.add("session-key-wrong-bytes", func() *sealedVector {
		msg, key := g.craft(nil, time.Time{}, bobStanza, hello)
		wrong, err := keyblob.NewSessionKeyFrom(key.Serial(), bytes.Repeat([]byte{0x42}, keyblob.SessionKeySize))
		if err != nil {
			t.Fatal(err)
		}
		return &sealedVector{expect: classMAC, sessionKey: wrong, msg: msg, comment: "a session key of the right serial but other bytes"}
	})

	// Payload failures.
	payloadOf := func(msg []byte) (parts, [][]byte) {
		p := split(t, msg)
		return p, chunksOf(p.payload)
	}
	g.add("payload-first-byte-flipped", func() *sealedVector {
		msg := base()
		return fail(classPayload, flipped(msg, split(t, msg).h.Size(), 0), "the first byte of the payload flipped")
	})
	g.add("payload-tag-flipped", func() *sealedVector {
		msg := base()
		return fail(classPayload, flipped(msg, len(msg)-1, 0), "the last byte of the final chunk's tag flipped")
	})
	g.add("payload-truncated", func() *sealedVector {
		msg := base()
		return fail(classPayload, msg[:len(msg)-1], "the payload's last byte removed")
	})
	g.add("payload-missing", func() *sealedVector {
		return fail(classPayload, split(t, base()).header, "a header and no payload")
	})
	g.add("payload-extended", func() *sealedVector {
		return fail(classPayload, join(base(), []byte{0}), "a byte after the payload")
	})
	g.add("payload-final-chunk-twice", func() *sealedVector {
		msg := base()
		p, cs := payloadOf(msg)
		return fail(classPayload, join(p.header, cs[0], cs[0]), "the final chunk twice")
	})
	twoChunks := func(signer *keyblob.Identity) []byte {
		return g.sealTo(testPlaintext(stream.ChunkSize+1, 3), Options{Recipients: recipientsOf(bob), Signer: signer})
	}
	g.add("chunks-swapped", func() *sealedVector {
		p, cs := payloadOf(twoChunks(nil))
		return bin(fail(classPayload, join(p.header, cs[1], cs[0]), "two chunks in the wrong order"))
	})
	g.add("first-chunk-dropped", func() *sealedVector {
		p, cs := payloadOf(twoChunks(nil))
		return bin(fail(classPayload, join(p.header, cs[1]), "the first of two chunks dropped"))
	})
	g.add("final-chunk-dropped", func() *sealedVector {
		p, cs := payloadOf(twoChunks(nil))
		return bin(fail(classPayload, join(p.header, cs[0]), "the final chunk dropped: the stream ends with a chunk that is not final"))
	})
	g.add("first-chunk-twice", func() *sealedVector {
		p, cs := payloadOf(twoChunks(nil))
		return bin(fail(classPayload, join(p.header, cs[0], cs[0], cs[1]), "the first chunk twice"))
	})
	g.add("chunk-not-final", func() *sealedVector {
		key := keyblob.NewSessionKey()
		prefix := prefixOf(t, sealedTime, time.Time{}, key.Serial(), nil)
		h, c := headerOf(t, key, prefix, bobStanza(key, nil))
		payload := c.SealChunk(nil, testPlaintext(stream.ChunkSize, 4), 0, false)
		return bin(fail(classPayload, join(h.bytes(), payload), "one full chunk sealed without the final flag"))
	})
	g.add("empty-final-chunk", func() *sealedVector {
		key := keyblob.NewSessionKey()
		prefix := prefixOf(t, sealedTime, time.Time{}, key.Serial(), nil)
		h, c := headerOf(t, key, prefix, bobStanza(key, nil))
		payload := c.SealChunk(nil, testPlaintext(stream.ChunkSize, 5), 0, false)
		payload = c.SealChunk(payload, nil, 1, true)
		return bin(fail(classPayload, join(h.bytes(), payload), "a full chunk, then an empty final chunk: only an empty plaintext has an empty final chunk"))
	})
	signedMsg := func() []byte { return g.sealTo(hello, signedToBob) }
	g.add("signature-flipped", func() *sealedVector {
		msg := signedMsg()
		return from(fail(classPayload, flipped(msg, len(msg)-10, 2), "a bit of alice's signature flipped"), "alice-x25519")
	})
	g.add("signature-flipped-no-from", func() *sealedVector {
		msg := signedMsg()
		return fail(classPayload, flipped(msg, len(msg)-10, 2), "a bit of alice's signature flipped, no sender required: the signature is checked all the same")
	})
	g.add("signature-rsa-flipped", func() *sealedVector {
		msg := g.sealTo(hello, Options{Recipients: recipientsOf(bob), Signer: carol})
		return fail(classPayload, flipped(msg, len(msg)-100, 5), "a bit of carol's RSA-PSS signature flipped")
	})
	g.add("signature-missing", func() *sealedVector {
		p := split(t, signedMsg())
		return fail(classPayload, join(p.header, p.payload), "alice's signature removed, the header still signed")
	})
	g.add("signature-truncated", func() *sealedVector {
		msg := signedMsg()
		return fail(classPayload, msg[:len(msg)-1], "the last byte of the signature removed")
	})
	g.add("signature-extended", func() *sealedVector {
		return fail(classPayload, join(signedMsg(), []byte{0}), "a byte after the signature")
	})
	g.add("signature-by-mallory", func() *sealedVector {
		p := split(t, signedMsg())
		return fail(classPayload, join(p.header, p.payload, signMsg(t, mallory, p.header, p.payload)), "alice's header, signed by mallory")
	})
	g.add("signature-of-other-message", func() *sealedVector {
		a, b := split(t, signedMsg()), split(t, signedMsg())
		return fail(classPayload, join(a.header, a.payload, b.trailer), "alice's signature of another message")
	})
	g.add("payload-of-other-message", func() *sealedVector {
		a, b := split(t, signedMsg()), split(t, signedMsg())
		return from(fail(classPayload, join(a.header, b.payload, a.trailer), "a signed header and signature moved onto the payload of another message to the same recipient"), "alice-x25519")
	})
	g.add("payload-forged-by-recipient", func() *sealedVector {
		msg := g.sealTo(hello, Options{Recipients: recipientsOf(mallory, bob), Signer: alice})
		a := split(t, msg)
		key := sessionKeyOf(t, msg, mallory)
		forged := sealPayload(t, key, cloneHeader(t, a.h), []byte("Forged by mallory, who knows the session key.\n"))
		return from(fail(classPayload, join(a.header, forged, a.trailer), "recipient mallory seals another payload under the same session key and header: the STREAM layer accepts it, alice's signature does not"), "alice-x25519")
	})

	// Armor: one vector per edge of the white space rule, and the other
	// ways armor can be malformed. Input that is not armored by the rule
	// is read as binary, and fails on the magic.
	armorBase := func() ([]byte, []byte, []string) {
		// A plaintext size that makes the message 1 mod 3 bytes long, so
		// the base64 ends with "==".
		for n := len(hello); ; n++ {
			plain := testPlaintext(n, 6)
			msg := g.sealTo(plain, toBob)
			if len(msg)%3 == 1 {
				text := string(armor(t, msg))
				return msg, plain, strings.Split(strings.TrimSuffix(text, "\n"), "\n")
			}
		}
	}
	armorVector := func(name, expect, comment string, mangle func(lines []string) string) {
		g.add(name, func() *sealedVector {
			msg, plain, lines := armorBase()
			v := fail(expect, msg, comment)
			if expect == classSuccess {
				v = ok(msg, plain, comment)
			}
			v.text = []byte(mangle(lines))
			return v
		})
	}
	armorFail := func(name, comment string, mangle func(lines []string) string) {
		armorVector(name, classArmor, comment, mangle)
	}
	joinLines := func(lines []string) string { return strings.Join(lines, "\n") + "\n" }
	rewrap := func(lines []string, first int) string {
		b64 := strings.Join(lines[1:len(lines)-1], "")
		out := []string{lines[0], b64[:first]}
		for rest := b64[first:]; len(rest) > 0; {
			n := min(64, len(rest))
			out, rest = append(out, rest[:n]), rest[n:]
		}
		return joinLines(append(out, lines[len(lines)-1]))
	}
	lastLine := func(lines []string, f func(string) string) string {
		ls := append([]string(nil), lines...)
		ls[len(ls)-2] = f(ls[len(ls)-2])
		return joinLines(ls)
	}
	noLF := func(ls []string) string { return strings.TrimSuffix(joinLines(ls), "\n") }
	armorVector("armor-space-before", classSuccess, "a space before the begin line is skipped", func(ls []string) string { return " " + joinLines(ls) })
	armorVector("armor-leading-white-space", classSuccess, "SP, HT, CR and LF before the begin line are skipped", func(ls []string) string {
		return "\r\n \t\n\n\t " + joinLines(ls)
	})
	armorVector("armor-end-without-lf", classSuccess, "no line end after the end line", noLF)
	armorVector("armor-crlf-end-without-crlf", classSuccess, "CR LF line ends, none after the end line", func(ls []string) string {
		return strings.ReplaceAll(noLF(ls), "\n", "\r\n")
	})
	armorVector("armor-mixed-line-ends", classSuccess, "CR LF and LF line ends mixed in one block", func(ls []string) string {
		return strings.Replace(joinLines(ls), "\n", "\r\n", 2)
	})
	armorVector("armor-end-line-spaces", classSuccess, "spaces and a tab after the end line, on its line", func(ls []string) string { return noLF(ls) + "  \t\n" })
	armorVector("armor-text-before", classHeader, "text before the begin line: not armored, and not the binary magic", func(ls []string) string { return "Message:\n" + joinLines(ls) })
	armorVector("armor-missing-begin", classHeader, "no begin line: not armored, and not the binary magic", func(ls []string) string { return joinLines(ls[1:]) })
	armorVector("armor-leading-nbsp", classHeader, "U+00A0 (no-break space) before the begin line: not armored, and not the binary magic", func(ls []string) string {
		return "\u00a0" + joinLines(ls)
	})
	armorVector("armor-leading-u2028", classHeader, "U+2028 (line separator) before the begin line: not armored, and not the binary magic", func(ls []string) string {
		return "\u2028" + joinLines(ls)
	})
	armorVector("armor-leading-vt", classHeader, "a vertical tab before the begin line: not armored, and not the binary magic", func(ls []string) string { return "\v" + joinLines(ls) })
	armorVector("armor-white-space-only", classHeader, "only white space: not armored, and no binary message", func([]string) string { return " \r\n\t\n" })
	g.add("armor-white-space-before-binary", func() *sealedVector {
		msg, _, _ := armorBase()
		v := bin(fail(classHeader, append([]byte("\n"), msg...), "an LF before a binary message: not armored, and not the binary magic"))
		return v
	})
	armorFail("armor-trailing-nbsp", "U+00A0 (no-break space) after the end line", func(ls []string) string { return joinLines(ls) + "\u00a0" })
	armorFail("armor-trailing-u2028", "U+2028 (line separator) after the end line", func(ls []string) string { return joinLines(ls) + "\u2028\n" })
	armorFail("armor-trailing-vt", "a vertical tab after the end line", func(ls []string) string { return joinLines(ls) + "\v" })
	armorFail("armor-cr-cr-lf", "two CRs before an LF", func(ls []string) string { return strings.Replace(joinLines(ls), "\n", "\r\r\n", 2) })
	armorFail("armor-space-after-begin", "a space after the begin line, on its line", func(ls []string) string {
		return joinLines(append([]string{ls[0] + " "}, ls[1:]...))
	})
	armorFail("armor-wrong-label", "the label is KEYBLOB KEY BLOB", func(ls []string) string {
		return strings.ReplaceAll(joinLines(ls), "SEALED MESSAGE", "KEY BLOB")
	})
	armorFail("armor-wrong-end-label", "the end line's label differs", func(ls []string) string {
		return strings.Replace(joinLines(ls), "END KEYBLOB SEALED MESSAGE", "END KEYBLOB SEALED MESSAGES", 1)
	})
	armorFail("armor-line-63", "the first line has 63 characters, the rest are wrapped at 64", func(ls []string) string { return rewrap(ls, 63) })
	armorFail("armor-line-65", "the first line has 65 characters", func(ls []string) string { return rewrap(ls, 65) })
	armorFail("armor-line-60", "the first line has 60 characters, a multiple of 4", func(ls []string) string { return rewrap(ls, 60) })
	armorFail("armor-padding-bits", "the last character before == has a padding bit set", func(ls []string) string {
		return lastLine(ls, func(l string) string {
			i := strings.IndexByte(base64Alphabet, l[len(l)-3])
			return l[:len(l)-3] + string(base64Alphabet[i^1]) + "=="
		})
	})
	armorFail("armor-no-padding", "the last line without its == padding", func(ls []string) string {
		return lastLine(ls, func(l string) string { return strings.TrimRight(l, "=") })
	})
	armorFail("armor-data-after-end", "text after the end line", func(ls []string) string { return joinLines(ls) + "hello\n" })
	armorFail("armor-data-after-white-space", "2000 bytes of white space after the end line, then text", func(ls []string) string {
		return joinLines(ls) + strings.Repeat(" ", 2000) + "x\n"
	})
	armorFail("armor-two-blocks", "the block twice", func(ls []string) string { return joinLines(ls) + joinLines(ls) })
	armorFail("armor-missing-end", "no end line", func(ls []string) string { return joinLines(ls[:len(ls)-1]) })
	armorFail("armor-pem-header", "a PEM header line after the begin line", func(ls []string) string {
		return joinLines(append([]string{ls[0], "Comment: hello", ""}, ls[1:]...))
	})
	armorFail("armor-blank-line", "a blank line after the begin line", func(ls []string) string {
		return joinLines(append([]string{ls[0], ""}, ls[1:]...))
	})
	armorFail("armor-bad-character", "a * in the base64", func(ls []string) string {
		ls = append([]string(nil), ls...)
		ls[2] = "*" + ls[2][1:]
		return joinLines(ls)
	})
	armorFail("armor-trailing-space-in-line", "a space at the end of a base64 line", func(ls []string) string {
		ls = append([]string(nil), ls...)
		ls[1] += " "
		return joinLines(ls)
	})
	armorFail("armor-empty", "a begin line and an end line, nothing between", func(ls []string) string {
		return joinLines([]string{ls[0], ls[len(ls)-1]})
	})
	armorFail("armor-cr-only", "CR line ends", func(ls []string) string { return strings.Join(ls, "\r") + "\r" })
	armorFail("armor-lowercase-label", "the label in lower case", func(ls []string) string {
		return strings.ReplaceAll(joinLines(ls), "KEYBLOB SEALED MESSAGE", "keyblob sealed message")
	})
	armorFail("armor-short-line-not-last", "the last line split in two", func(ls []string) string {
		return lastLine(ls, func(l string) string { return l[:4] + "\n" + l[4:] })
	})
}

// craftMax seals plain to r with the creation time 2^63-1.
func (g *sealedGen) craftMax(plain []byte, r *keyblob.Identity) ([]byte, *keyblob.SessionKey) {
	created := time.Unix(math.MaxInt64, 0).UTC()
	key := keyblob.NewSessionKey()
	prefix := prefixOf(g.t, created, time.Time{}, key.Serial(), nil)
	return assemble(g.t, key, prefix, []Stanza{blobStanza(g.t, key, r.Recipient(), created)}, plain, nil), key
}

// unknownStanzas returns n stanzas of the unknown type 0x7f with bodies of
// size bytes.
func unknownStanzas(n, size int) []Stanza {
	s := make([]Stanza, n)
	for i := range s {
		s[i] = Stanza{typ: 0x7f, body: make([]byte, size)}
	}
	return s
}

// openerVectors are the vectors whose class depends on how the opener
// chooses and checks: which stanza it unwraps, the sender it requires
// (from:), its clock (now:), its maximum age (max-age:) and its replay
// cache (seen:). Those that need an opener input are for bob's hybrid key:
// TestOpenIndependently, which opens bob's X25519 vectors with no such
// input, would accept them.
func (g *sealedGen) openerVectors() {
	t := g.t
	alice, bob, bobPQ := g.id("alice-x25519"), g.id("bob-x25519"), g.id("bob-hybrid")
	carol, mallory := g.id("carol-rsa-2048"), g.id("mallory-x25519")
	hello := []byte("Hello, keyblob! A sealed message test vector.\n")
	pass := "test vector passphrase"
	toBob := Options{Recipients: recipientsOf(bobPQ)}
	signed := Options{Recipients: recipientsOf(bobPQ), Signer: alice}
	expires := sealedTime.Add(time.Hour)
	expiring := Options{Recipients: recipientsOf(bobPQ), Expires: expires}
	passOpts := Options{Passphrase: []byte(pass), Params: &cheapParams}
	vec := func(expect string, msg []byte, comment string) *sealedVector {
		v := &sealedVector{expect: expect, identity: "bob-hybrid", msg: msg, comment: comment}
		if expect == classSuccess {
			v.plain = hello
		}
		return v
	}
	from := func(v *sealedVector, who string) *sealedVector { v.from = who; return v }
	at := func(v *sealedVector, now time.Time) *sealedVector { v.now = now; return v }
	maxAge := func(v *sealedVector, d time.Duration) *sealedVector { v.maxAge = d; return v }
	seen := func(v *sealedVector, id []byte) *sealedVector { v.seen = id; return v }
	// idOf is the replay identifier of msg, opened by who at its creation.
	idOf := func(msg []byte, who *keyblob.Identity) []byte {
		o, err := Open(bytes.NewReader(msg), &OpenOptions{Identities: []*keyblob.Identity{who}, Now: func() time.Time { return sealedTime }})
		if err != nil {
			t.Fatal(err)
		}
		id, err := replayID(o.SessionKey(), o.Header().Serial())
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	macFlipped := func(msg []byte) []byte { return flipped(msg, split(t, msg).h.Size()-1, 7) }

	// Which stanza is used (bob's X25519 key: the independent opener
	// agrees).
	badWrap := func(key *keyblob.SessionKey, who *keyblob.Identity) Stanza {
		s := blobStanza(t, key, who.Recipient(), sealedTime)
		s.body = flipped(s.body, blobWrappedAt+40, 3)
		return s
	}
	g.add("stanza-first-match-fails", func() *sealedVector {
		msg, _ := g.craft(nil, time.Time{}, func(key *keyblob.SessionKey, _ []byte) []Stanza {
			return []Stanza{badWrap(key, bob), blobStanza(t, key, bob.Recipient(), sealedTime)}
		}, hello)
		return &sealedVector{expect: classHeader, identity: "bob-x25519", msg: msg,
			comment: "two stanzas for bob, the first with a flipped wrapped key, under a valid MAC: the first match is the one unwrapped, and its failure is final"}
	})
	g.add("stanza-second-match-unused", func() *sealedVector {
		msg, _ := g.craft(nil, time.Time{}, func(key *keyblob.SessionKey, _ []byte) []Stanza {
			return []Stanza{blobStanza(t, key, bob.Recipient(), sealedTime), badWrap(key, bob)}
		}, hello)
		return &sealedVector{expect: classSuccess, identity: "bob-x25519", msg: msg, plain: hello,
			comment: "two stanzas for bob, the second with a flipped wrapped key: only the first match is unwrapped"}
	})
	g.add("stanza-malformed-for-other", func() *sealedVector {
		msg, _ := g.craft(nil, time.Time{}, func(key *keyblob.SessionKey, _ []byte) []Stanza {
			b, err := keyblob.Export(key, carol.Recipient(), &keyblob.ExportOptions{Time: sealedTime, Signer: alice})
			if err != nil {
				t.Fatal(err)
			}
			return []Stanza{blobStanza(t, key, bob.Recipient(), sealedTime), {typ: StanzaBlob, body: b.Marshal()}}
		}, hello)
		return &sealedVector{expect: classHeader, identity: "bob-x25519", msg: msg,
			comment: "bob's stanza, then one for carol that is a signed key blob: every known stanza is checked, whoever it is for"}
	})
	g.add("session-key-stanzas-unused", func() *sealedVector {
		msg, key := g.craft(nil, time.Time{}, func(key *keyblob.SessionKey, _ []byte) []Stanza {
			return []Stanza{badWrap(key, bob)}
		}, hello)
		return &sealedVector{expect: classSuccess, sessionKey: key, msg: msg, plain: hello,
			comment: "opened with its session key: no stanza is unwrapped, so bob's broken one does not matter"}
	})

	// The sender (step 2).
	g.add("from-unsigned", func() *sealedVector {
		return from(vec(classNotSigned, g.sealTo(hello, toBob), "an unsigned message, alice required"), "alice-x25519")
	})
	g.add("from-passphrase-unsigned", func() *sealedVector {
		return &sealedVector{expect: classNotSigned, passphrase: pass, from: "alice-x25519", msg: g.sealTo(hello, passOpts),
			comment: "an unsigned passphrase message, alice required: refused before Argon2id runs"}
	})
	strippedByMallory := func() (genuine, stripped []byte) {
		msg := g.sealTo(hello, Options{Recipients: recipientsOf(mallory, bobPQ), Signer: alice})
		return msg, stripSignature(t, msg, sessionKeyOf(t, msg, mallory), hello)
	}
	g.add("signature-stripped-by-recipient", func() *sealedVector {
		_, stripped := strippedByMallory()
		return from(vec(classNotSigned, stripped, "co-recipient mallory strips alice's signature, MACs the header again and seals the payload again; alice required"), "alice-x25519")
	})
	g.add("signature-stripped-by-recipient-no-from", func() *sealedVector {
		_, stripped := strippedByMallory()
		return vec(classSuccess, stripped, "the same copy, no sender required: it is a valid unsigned message")
	})
	g.add("from-mallory-signed-by-alice", func() *sealedVector {
		return from(vec(classWrongSender, g.sealTo(hello, signed), "signed by alice, mallory required"), "mallory-x25519")
	})
	g.add("from-alice-signed-by-carol", func() *sealedVector {
		return from(vec(classWrongSender, g.sealTo(hello, Options{Recipients: recipientsOf(bobPQ), Signer: carol}), "signed by carol (RSA-PSS), alice required"), "alice-x25519")
	})
	g.add("from-alice-resigned-by-mallory", func() *sealedVector {
		header, p := g.editHeader(g.sealTo(hello, signed), func(f *headerFields) { f.Signer = mallory.Recipient() })
		msg := join(header, p.payload, signMsg(t, mallory, header, p.payload))
		return from(vec(classWrongSender, msg, "alice's signer key replaced by mallory's and signed by mallory, alice required: refused before the MAC"), "alice-x25519")
	})
	g.add("from-wrong-sender-before-no-match", func() *sealedVector {
		msg := g.sealTo(hello, Options{Recipients: recipientsOf(mallory), Signer: alice})
		return from(vec(classWrongSender, msg, "signed by alice and sealed to mallory only, carol required: the sender is checked before the stanzas"), "carol-rsa-2048")
	})

	// Expiry (step 5).
	g.add("expired", func() *sealedVector {
		return at(vec(classExpired, g.sealTo(hello, expiring), "expires an hour after creation, opened two hours after"), sealedTime.Add(2*time.Hour))
	})
	g.add("expired-at-expiry", func() *sealedVector {
		return at(vec(classExpired, g.sealTo(hello, expiring), "opened at the second of its expiry"), expires)
	})
	g.add("expires-in-one-second", func() *sealedVector {
		return at(vec(classSuccess, g.sealTo(hello, expiring), "opened one second before its expiry"), expires.Add(-time.Second))
	})
	g.add("expired-mac-flipped", func() *sealedVector {
		return at(vec(classMAC, macFlipped(g.sealTo(hello, expiring)), "expired, and a bit of the MAC flipped: the MAC is checked first"), sealedTime.Add(2*time.Hour))
	})
	g.add("expired-signature-flipped", func() *sealedVector {
		opts := expiring
		opts.Signer = alice
		msg := g.sealTo(hello, opts)
		return at(vec(classExpired, flipped(msg, len(msg)-10, 2), "signed and expired, a bit of the signature flipped: the expiry is checked before the payload"), sealedTime.Add(2*time.Hour))
	})
	g.add("expired-and-too-old", func() *sealedVector {
		return maxAge(at(vec(classExpired, g.sealTo(hello, expiring), "expired and older than the maximum age: the expiry is checked first"), sealedTime.Add(2*time.Hour)), time.Hour)
	})

	// Age (step 5).
	g.add("too-old", func() *sealedVector {
		return maxAge(at(vec(classTooOld, g.sealTo(hello, toBob), "maximum age one hour, opened an hour and a second after creation"), sealedTime.Add(time.Hour+time.Second)), time.Hour)
	})
	g.add("max-age-exact", func() *sealedVector {
		return maxAge(at(vec(classSuccess, g.sealTo(hello, toBob), "maximum age one hour, opened exactly an hour after creation"), sealedTime.Add(time.Hour)), time.Hour)
	})
	g.add("future", func() *sealedVector {
		return maxAge(at(vec(classFuture, g.sealTo(hello, toBob), "with a maximum age, created 5 minutes and 1 second after the opener's clock"), sealedTime.Add(-5*time.Minute-time.Second)), time.Hour)
	})
	g.add("future-skew-exact", func() *sealedVector {
		return maxAge(at(vec(classSuccess, g.sealTo(hello, toBob), "with a maximum age, created exactly 5 minutes after the opener's clock"), sealedTime.Add(-5*time.Minute)), time.Hour)
	})
	g.add("future-without-max-age", func() *sealedVector {
		return at(vec(classSuccess, g.sealTo(hello, toBob), "created a day after the opener's clock, no maximum age: the creation time is not checked"), sealedTime.Add(-24*time.Hour))
	})

	// Replay (steps 6 and 9).
	g.add("replay", func() *sealedVector {
		msg := g.sealTo(hello, toBob)
		return seen(vec(classReplay, msg, "the cache holds this message's replay identifier"), idOf(msg, bobPQ))
	})
	g.add("replay-passphrase", func() *sealedVector {
		msg := g.sealTo(hello, passOpts)
		o, err := Open(bytes.NewReader(msg), &OpenOptions{Passphrase: func() ([]byte, error) { return []byte(pass), nil }})
		if err != nil {
			t.Fatal(err)
		}
		id, err := replayID(o.SessionKey(), o.Header().Serial())
		if err != nil {
			t.Fatal(err)
		}
		return &sealedVector{expect: classReplay, passphrase: pass, msg: msg, seen: id,
			comment: "a passphrase message whose replay identifier the cache holds"}
	})
	g.add("replay-signature-stripped", func() *sealedVector {
		genuine, stripped := strippedByMallory()
		return seen(vec(classReplay, stripped, "mallory's stripped copy, after the genuine message was accepted: same session key and serial, same identifier"), idOf(genuine, bobPQ))
	})
	g.add("replay-serial-copied", func() *sealedVector {
		msg := g.sealTo(hello, toBob)
		forged := frontRun(t, msg, bobPQ, mallory)
		return seen(vec(classSuccess, msg, "the cache holds the identifier of another message that copied this one's serial: not a replay"), idOf(forged, bobPQ))
	})
	g.add("replay-mac-flipped", func() *sealedVector {
		msg := g.sealTo(hello, toBob)
		return seen(vec(classMAC, macFlipped(msg), "a replay with a bit of the MAC flipped: the MAC is checked first"), idOf(msg, bobPQ))
	})
	g.add("replay-expired", func() *sealedVector {
		msg := g.sealTo(hello, expiring)
		return at(seen(vec(classExpired, msg, "a replay, and expired: the expiry is checked first"), idOf(msg, bobPQ)), sealedTime.Add(2*time.Hour))
	})
}
