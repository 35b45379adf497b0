package keyblob

// Test vectors, in the style of age's CCTV test kit.
//
// TestGenerateVectors (run with -update) writes testdata/keys, testdata/blob,
// testdata/recipient (recipient_vectors_test.go) and testdata/stream; TestVectors, which always runs, checks every vector
// file against the code. Each vector file is a few "name: value" header
// lines, a blank line and the body: an armored object as text, or "hex:"
// followed by hex digits (white space ignored). Large stream vectors keep
// their body in a .bin file named by the "file:" header instead.
//
// Blob vector headers:
//
//	expect: success | malformed | auth failure | incorrect identity | not signed | wrong signer
//	identity: NAME       the identity testdata/keys/NAME.key imports the blob
//	verify: NAME         optional: the signer testdata/keys/NAME.pub is required
//	session key: HEX     on success, the session key bytes
//	serial: HEX          on success, the session key serial
//	comment: TEXT
//
// Stream vector headers:
//
//	expect: success | malformed | auth failure | wrong session key
//	key: FILE            the session key file in testdata/stream
//	plaintext size: N    on success
//	plaintext sha256: HEX
//	file: FILE           optional: the body is this file in testdata/stream
//	comment: TEXT
//
// Generation is deterministic: every key and vector is made right after
// testing/cryptotest.SetGlobalRandom with a seed derived from its name, and
// with Go 1.26 that makes identity generation (ML-KEM seeds, X25519,
// Ed25519 and RSA key generation), HPKE encapsulation, RSA-OAEP padding,
// RSA-PSS salts, session keys and file nonces reproducible, so running the
// generator twice writes identical files. Go does not promise that its
// algorithms keep consuming randomness the same way, so a later Go may
// write different (equally valid) vectors; TestVectors never regenerates
// anything and only checks the stored files, so it does not depend on it.

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
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

	"github.com/keyblob/keyblob/internal/format"
	"github.com/keyblob/keyblob/internal/stream"
)

var update = flag.Bool("update", false, "regenerate the test vectors in testdata/ (with -run TestGenerateVectors)")

const (
	keysDir   = "testdata/keys"
	blobDir   = "testdata/blob"
	streamDir = "testdata/stream"

	minBlobVectors   = 40
	minStreamVectors = 20
	maxVectorFile    = 512 << 10
)

// vectorTime is the creation time of every generated blob.
var vectorTime = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// vectorKinds and vectorNames are the identities of testdata/keys.
var (
	vectorKinds = []string{KindHybrid, KindX25519, KindRSA2048}
	vectorNames = []string{"alice", "bob", "mallory"}
)

// A vector is one parsed vector file.
type vector struct {
	path    string
	headers map[string]string
	body    []byte
}

func (v *vector) header(t testing.TB, name string) string {
	t.Helper()
	s, ok := v.headers[name]
	if !ok {
		t.Fatalf("%s: no %q header", v.path, name)
	}
	return s
}

func readVector(t testing.TB, path string) *vector {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	head, body, ok := bytes.Cut(data, []byte("\n\n"))
	if !ok {
		t.Fatalf("%s: no blank line after the headers", path)
	}
	v := &vector{path: path, headers: map[string]string{}}
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
	if hexBody, ok := bytes.CutPrefix(body, []byte("hex:")); ok {
		clean := strings.Join(strings.Fields(string(hexBody)), "")
		raw, err := hex.DecodeString(clean)
		if err != nil {
			t.Fatalf("%s: bad hex body: %v", path, err)
		}
		body = raw
	}
	if file, ok := v.headers["file"]; ok {
		if len(body) != 0 {
			t.Fatalf("%s: both a file header and a body", path)
		}
		if body, err = os.ReadFile(filepath.Join(filepath.Dir(path), file)); err != nil {
			t.Fatal(err)
		}
	}
	v.body = body
	return v
}

func vectorFiles(t testing.TB, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

// vectorKeys loads the identities and recipients of testdata/keys.
type vectorKeys struct {
	t          *testing.T
	identities map[string]*Identity
	recipients map[string]*Recipient
}

func (k *vectorKeys) identity(name string) *Identity {
	k.t.Helper()
	if id, ok := k.identities[name]; ok {
		return id
	}
	data, err := os.ReadFile(filepath.Join(keysDir, name+".key"))
	if err != nil {
		k.t.Fatal(err)
	}
	id, err := ParseIdentity(data)
	if err != nil {
		k.t.Fatalf("%s.key: %v", name, err)
	}
	k.identities[name] = id
	return id
}

func (k *vectorKeys) recipient(name string) *Recipient {
	k.t.Helper()
	if r, ok := k.recipients[name]; ok {
		return r
	}
	data, err := os.ReadFile(filepath.Join(keysDir, name+".pub"))
	if err != nil {
		k.t.Fatal(err)
	}
	r, err := ParseRecipient(data)
	if err != nil {
		k.t.Fatalf("%s.pub: %v", name, err)
	}
	k.recipients[name] = r
	return r
}

func TestVectors(t *testing.T) {
	keys := &vectorKeys{t: t, identities: map[string]*Identity{}, recipients: map[string]*Recipient{}}
	t.Run("keys", func(t *testing.T) {
		n := 0
		for _, kind := range vectorKinds {
			for _, name := range vectorNames {
				n++
				key := name + "-" + kind
				id, r := keys.identity(key), keys.recipient(key)
				if !id.Recipient().Equal(r) || id.Kind() != kind {
					t.Errorf("%s: the identity (kind %s) does not match its recipient line", key, id.Kind())
				}
			}
		}
		if n != len(vectorKinds)*len(vectorNames) {
			t.Errorf("checked %d keys", n)
		}
	})
	t.Run("blob", func(t *testing.T) {
		files := vectorFiles(t, blobDir)
		if len(files) < minBlobVectors {
			t.Fatalf("%d blob vectors in %s, want at least %d", len(files), blobDir, minBlobVectors)
		}
		for _, path := range files {
			t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) {
				checkBlobVector(t, readVector(t, path), keys)
			})
		}
	})
	t.Run("recipient", func(t *testing.T) {
		files := vectorFiles(t, recipientDir)
		if len(files) < minRecipientVectors {
			t.Fatalf("%d recipient vectors in %s, want at least %d", len(files), recipientDir, minRecipientVectors)
		}
		for _, path := range files {
			t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) {
				checkRecipientVector(t, readVector(t, path))
			})
		}
	})
	t.Run("stream", func(t *testing.T) {
		files := vectorFiles(t, streamDir)
		if len(files) < minStreamVectors {
			t.Fatalf("%d stream vectors in %s, want at least %d", len(files), streamDir, minStreamVectors)
		}
		for _, path := range files {
			t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) {
				checkStreamVector(t, readVector(t, path))
			})
		}
	})
}

func checkBlobVector(t *testing.T, v *vector, keys *vectorKeys) {
	expect := v.header(t, "expect")
	id := keys.identity(v.header(t, "identity"))
	var verify *Recipient
	if name, ok := v.headers["verify"]; ok {
		verify = keys.recipient(name)
	}
	blob, err := ParseKeyBlob(v.body)
	var key *SessionKey
	if err == nil {
		key, err = Import(blob, id, &ImportOptions{Verify: verify})
	}
	if got := blobErrorClass(err); got != expect {
		t.Fatalf("got %s (%v), want %s", got, err, expect)
	}
	if expect != "success" {
		if key != nil {
			t.Errorf("a key was returned with the error")
		}
		return
	}
	if got, want := hex.EncodeToString(key.Bytes()), v.header(t, "session key"); got != want {
		t.Errorf("session key %s, want %s", got, want)
	}
	if got, want := key.Serial().String(), v.header(t, "serial"); got != want || blob.Serial().String() != want {
		t.Errorf("serial %s, want %s", got, want)
	}
	// A successful vector is canonical: it re-encodes to its own bytes
	// (armored ones up to the line ends and white space armor allows:
	// SP, HT, CR and LF around the block, CR LF for LF).
	if format.IsArmored(v.body) {
		want := bytes.ReplaceAll(bytes.Trim(v.body, " \t\r\n"), []byte("\r\n"), []byte("\n"))
		if !bytes.Equal(blob.MarshalPEM(), append(want, '\n')) {
			t.Errorf("MarshalPEM does not reproduce the vector")
		}
	} else if !bytes.Equal(blob.Marshal(), v.body) {
		t.Errorf("Marshal does not reproduce the vector")
	}
}

func checkStreamVector(t *testing.T, v *vector) {
	expect := v.header(t, "expect")
	keyFile, err := os.ReadFile(filepath.Join(streamDir, v.header(t, "key")))
	if err != nil {
		t.Fatal(err)
	}
	key, err := ParseSessionKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, workers := range []int{1, 2} {
		plaintext, err := decrypt(v.body, key, workers)
		if got := encryptedErrorClass(err); got != expect {
			t.Fatalf("workers %d: got %s (%v), want %s", workers, got, err, expect)
		}
		if expect != "success" {
			continue
		}
		sum := sha256.Sum256(plaintext)
		if got, want := hex.EncodeToString(sum[:]), v.header(t, "plaintext sha256"); got != want {
			t.Errorf("workers %d: plaintext sha256 %s, want %s", workers, got, want)
		}
		if got, want := strconv.Itoa(len(plaintext)), v.header(t, "plaintext size"); got != want {
			t.Errorf("workers %d: plaintext of %s bytes, want %s", workers, got, want)
		}
	}
}

// TestGenerateVectors regenerates testdata/keys, testdata/blob,
// testdata/recipient and testdata/stream. Run it with: go test -run TestGenerateVectors -update .
func TestGenerateVectors(t *testing.T) {
	if !*update {
		t.Skip("run with -update to regenerate the vectors in testdata/")
	}
	g := &generator{t: t, ids: map[string]*Identity{}, written: map[string]bool{}}
	for _, dir := range []string{keysDir, blobDir, recipientDir, streamDir} {
		g.clean(dir)
	}
	g.keys()
	g.blobs()
	g.recipients()
	g.streams()
	t.Logf("wrote %d blob vectors, %d recipient vectors and %d stream vectors", g.nBlob, g.nRecipient, g.nStream)
	// Check what was written with the same code as TestVectors.
	TestVectors(t)
}

type generator struct {
	t              *testing.T
	ids            map[string]*Identity
	written        map[string]bool
	nBlob, nStream int
	nRecipient     int
}

// seed resets the global random source to a seed derived from name, so
// each vector is reproducible on its own.
func (g *generator) seed(name string) {
	h := fnv.New64a()
	io.WriteString(h, name)
	cryptotest.SetGlobalRandom(g.t, h.Sum64())
}

func (g *generator) clean(dir string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		g.t.Fatal(err)
	}
	for _, pattern := range []string{"*.txt", "*.bin", "*.key", "*.pub"} {
		old, _ := filepath.Glob(filepath.Join(dir, pattern))
		for _, f := range old {
			if err := os.Remove(f); err != nil {
				g.t.Fatal(err)
			}
		}
	}
}

func (g *generator) write(path string, data []byte) {
	if g.written[path] {
		g.t.Fatalf("%s written twice", path)
	}
	g.written[path] = true
	if len(data) > maxVectorFile {
		g.t.Fatalf("%s would be %d bytes, over %d", path, len(data), maxVectorFile)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		g.t.Fatal(err)
	}
}

func (g *generator) keys() {
	for _, kind := range vectorKinds {
		for _, name := range vectorNames {
			key := name + "-" + kind
			g.seed("identity " + key)
			id, err := GenerateIdentity(kind)
			if err != nil {
				g.t.Fatal(err)
			}
			file, err := id.MarshalPEM()
			if err != nil {
				g.t.Fatal(err)
			}
			g.write(filepath.Join(keysDir, key+".key"), file)
			g.write(filepath.Join(keysDir, key+".pub"), []byte(id.Recipient().String()+"\n"))
			g.ids[key] = id
		}
	}
}

func (g *generator) id(name string) *Identity {
	id, ok := g.ids[name]
	if !ok {
		g.t.Fatalf("no identity %q", name)
	}
	return id
}

// blobVector is one key blob vector to write.
type blobVector struct {
	name     string
	comment  string
	expect   string
	identity string
	verify   string
	key      *SessionKey // on success
	data     []byte      // the blob's binary encoding
	binary   bool        // write data as hex rather than armored
	text     []byte      // if set, the exact body (non-canonical armor)
}

func (g *generator) writeBlob(v blobVector) {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "expect: %s\n", v.expect)
	fmt.Fprintf(&buf, "identity: %s\n", v.identity)
	if v.verify != "" {
		fmt.Fprintf(&buf, "verify: %s\n", v.verify)
	}
	if v.expect == "success" {
		fmt.Fprintf(&buf, "session key: %x\n", v.key.Bytes())
		fmt.Fprintf(&buf, "serial: %s\n", v.key.Serial())
	}
	fmt.Fprintf(&buf, "comment: %s\n\n", v.comment)
	switch {
	case v.text != nil:
		buf.Write(v.text)
	case v.binary:
		writeHex(&buf, v.data)
	default:
		buf.Write(format.Armor(format.PEMBlob, v.data))
	}
	g.write(filepath.Join(blobDir, v.name+".txt"), buf.Bytes())
	g.nBlob++
}

func writeHex(w io.Writer, data []byte) {
	io.WriteString(w, "hex:\n")
	for len(data) > 0 {
		n := min(len(data), 32)
		fmt.Fprintf(w, "%x\n", data[:n])
		data = data[n:]
	}
}

// export makes a blob of a new session key to the identity called to,
// signed by the identity called by unless by is empty.
func (g *generator) export(vector, to, by, desc string) (*KeyBlob, *SessionKey) {
	g.seed("blob " + vector)
	key := NewSessionKey()
	opts := &ExportOptions{Description: desc, Time: vectorTime}
	if by != "" {
		opts.Signer = g.id(by)
	}
	b, err := Export(key, g.id(to).Recipient(), opts)
	if err != nil {
		g.t.Fatal(err)
	}
	return b, key
}

// tampered returns the fields of b changed by fn, keeping its signature,
// encoded without any check.
func tampered(b *KeyBlob, fn func(*rawBlob)) []byte {
	c := rawOf(b)
	fn(c)
	return c.Marshal()
}

func (g *generator) blobs() {
	for _, kind := range vectorKinds {
		alice, bob, mallory := "alice-"+kind, "bob-"+kind, "mallory-"+kind
		name := func(s string) string { return kind + "-" + s }

		b, key := g.export(name("unsigned"), bob, "", "")
		g.writeBlob(blobVector{name: name("unsigned"), expect: "success", identity: bob, key: key, data: b.Marshal(),
			comment: fmt.Sprintf("an unsigned blob of kind %s with an empty description", kind)})
		g.writeBlob(blobVector{name: name("unsigned-signature-required"), expect: "not signed", identity: bob, verify: alice, data: b.Marshal(),
			comment: "the same unsigned blob, imported requiring alice's signature"})
		g.writeBlob(blobVector{name: name("wrong-identity"), expect: "incorrect identity", identity: alice, data: b.Marshal(),
			comment: "a blob for bob, imported by alice"})
		g.writeBlob(blobVector{name: name("unsigned-tampered-wrapped"), expect: "auth failure", identity: bob,
			data:    tampered(b, func(c *rawBlob) { c.Wrapped[len(c.Wrapped)/2] ^= 0x01 }),
			comment: "an unsigned blob with one bit of the wrapped key flipped"})
		g.writeBlob(blobVector{name: name("unsigned-tampered-description"), expect: "auth failure", identity: bob,
			data:    tampered(b, func(c *rawBlob) { c.Description = "x" }),
			comment: "an unsigned blob whose description was set afterwards: the header is bound into the wrap"})

		s, skey := g.export(name("signed"), bob, alice, "quarterly report")
		g.writeBlob(blobVector{name: name("signed"), expect: "success", identity: bob, verify: alice, key: skey, data: s.Marshal(),
			comment: fmt.Sprintf("a blob of kind %s to bob, signed by alice and imported requiring her signature", kind)})
		g.writeBlob(blobVector{name: name("signed-binary"), expect: "success", identity: bob, verify: alice, key: skey, data: s.Marshal(), binary: true,
			comment: "the same signed blob, binary"})
		g.writeBlob(blobVector{name: name("signed-no-verify"), expect: "success", identity: bob, key: skey, data: s.Marshal(),
			comment: "the same signed blob, imported without requiring a signer"})
		g.writeBlob(blobVector{name: name("signed-verify-mallory"), expect: "wrong signer", identity: bob, verify: mallory, data: s.Marshal(),
			comment: "a blob signed by alice, imported requiring mallory's signature"})
		g.writeBlob(blobVector{name: name("tampered-signature"), expect: "auth failure", identity: bob, verify: alice,
			data:    tampered(s, func(c *rawBlob) { c.Signature[3] ^= 0x40 }),
			comment: "one bit of alice's signature flipped"})
		g.writeBlob(blobVector{name: name("tampered-wrapped"), expect: "auth failure", identity: bob, verify: alice,
			data:    tampered(s, func(c *rawBlob) { c.Wrapped[0] ^= 0x80 }),
			comment: "one bit of the wrapped key of a signed blob flipped"})

		m, _ := g.export(name("substitution-signed"), bob, mallory, "quarterly report")
		g.writeBlob(blobVector{name: name("substitution-signed-by-mallory"), expect: "wrong signer", identity: bob, verify: alice, data: m.Marshal(),
			comment: "Storing Session Keys: mallory exports her own session key to bob and signs it herself; bob requires alice"})
		u, _ := g.export(name("substitution-unsigned"), bob, "", "quarterly report")
		g.writeBlob(blobVector{name: name("substitution-unsigned"), expect: "not signed", identity: bob, verify: alice, data: u.Marshal(),
			comment: "Storing Session Keys: mallory exports her own session key to bob without a signature; bob requires alice"})
	}

	g.x25519Fields()
	g.descriptions()
	g.structure()
	g.armor()
	g.misc()
}

// x25519Fields tampers with every field of an X25519 blob.
func (g *generator) x25519Fields() {
	alice, bob, mallory := "alice-x25519", "bob-x25519", "mallory-x25519"
	u, _ := g.export("x25519-fields-unsigned", bob, "", "field test")
	s, _ := g.export("x25519-fields-signed", bob, alice, "field test")
	type field struct {
		name, comment, expectUnsigned, expectSigned string
		fn                                          func(*rawBlob)
	}
	fields := []field{
		{"exchange-alg", "the exchange algorithm changed from X25519 (2) to hybrid (1): the wrapped key has the wrong size",
			"malformed", "malformed", func(c *rawBlob) { c.ExchangeAlg = ExchangeHybrid }},
		{"exchange-alg-unknown", "the exchange algorithm changed to the unassigned value 4",
			"malformed", "malformed", func(c *rawBlob) { c.ExchangeAlg = 4 }},
		{"recipient", "one bit of the recipient fingerprint flipped",
			"incorrect identity", "auth failure", func(c *rawBlob) { c.Recipient[31] ^= 1 }},
		{"session-alg", "the session key algorithm changed to the unassigned value 2",
			"malformed", "malformed", func(c *rawBlob) { c.SessionAlg = 2 }},
		{"serial", "one bit of the serial flipped",
			"auth failure", "auth failure", func(c *rawBlob) { c.Serial[0] ^= 1 }},
		{"created", "the creation time moved by one second",
			"auth failure", "auth failure", func(c *rawBlob) { c.Created = c.Created.Add(time.Second) }},
		{"created-overflow", "the creation time 2^64-1, beyond the signed 64-bit range",
			"malformed", "malformed", func(c *rawBlob) { c.Created = time.Unix(-1, 0) }},
		{"description", "one letter of the description changed",
			"auth failure", "auth failure", func(c *rawBlob) { c.Description = "field tesT" }},
		{"description-invalid-utf8", "the description made invalid UTF-8",
			"malformed", "malformed", func(c *rawBlob) { c.Description = "field tes\xff" }},
		{"wrapped", "one bit of the wrapped key flipped",
			"auth failure", "auth failure", func(c *rawBlob) { c.Wrapped[40] ^= 4 }},
		{"wrapped-size", "the wrapped key one byte short",
			"malformed", "malformed", func(c *rawBlob) { c.Wrapped = c.Wrapped[1:] }},
	}
	for _, f := range fields {
		g.writeBlob(blobVector{name: "x25519-field-unsigned-" + f.name, expect: f.expectUnsigned, identity: bob,
			data: tampered(u, f.fn), comment: "unsigned: " + f.comment})
		g.writeBlob(blobVector{name: "x25519-field-signed-" + f.name, expect: f.expectSigned, identity: bob, verify: alice,
			data: tampered(s, f.fn), comment: "signed by alice: " + f.comment})
	}
	sigAlgAt := 66 + len(s.Description()) // section 9.1: the signature alg follows the description
	g.writeBlob(blobVector{name: "x25519-field-signed-sig-alg", expect: "malformed", identity: bob, verify: alice,
		data:    withByte(s.Marshal(), sigAlgAt, byte(SignatureRSAPSS)),
		comment: "the signature algorithm changed from Ed25519 to RSA-PSS: the signer key is not an RSA key"})
	g.writeBlob(blobVector{name: "x25519-field-signed-sig-alg-none", expect: "malformed", identity: bob, verify: alice,
		data:    withByte(s.Marshal(), sigAlgAt, 0),
		comment: "the signature algorithm changed to none (0): the signer key is read as the wrapped key, and the rest is trailing data"})
	g.writeBlob(blobVector{name: "x25519-field-signed-sig-alg-unknown", expect: "malformed", identity: bob, verify: alice,
		data:    withByte(s.Marshal(), sigAlgAt, 3),
		comment: "the signature algorithm changed to the unassigned value 3"})
	g.writeBlob(blobVector{name: "x25519-field-signed-signer", expect: "wrong signer", identity: bob, verify: alice,
		data:    tampered(s, func(c *rawBlob) { c.SignerKey = g.id(mallory).Recipient().signingOnly() }),
		comment: "the signer key replaced by mallory's, alice's signature kept"})
	g.writeBlob(blobVector{name: "x25519-field-signed-signer-no-verify", expect: "auth failure", identity: bob,
		data:    tampered(s, func(c *rawBlob) { c.SignerKey = g.id(mallory).Recipient().signingOnly() }),
		comment: "the same, imported without requiring a signer: the signature is still checked, with the key the blob carries"})
	g.writeBlob(blobVector{name: "x25519-field-signed-signature-length", expect: "malformed", identity: bob, verify: alice,
		data:    tampered(s, func(c *rawBlob) { c.Signature = c.Signature[:63] }),
		comment: "the Ed25519 signature one byte short"})
	g.writeBlob(blobVector{name: "x25519-signed-bad-signature-no-verify", expect: "auth failure", identity: bob,
		data:    tampered(s, func(c *rawBlob) { c.Signature[10] ^= 0x08 }),
		comment: "one bit of alice's signature flipped, imported without requiring a signer: a present signature must verify"})
	g.smallOrderSigners(s, sigAlgAt)

	// Re-signing: mallory's blob under alice's name.
	m, _ := g.export("x25519-resigned", bob, mallory, "field test")
	g.writeBlob(blobVector{name: "x25519-resigned-signer-replaced", expect: "auth failure", identity: bob, verify: alice,
		data:    tampered(m, func(c *rawBlob) { c.SignerKey = g.id(alice).Recipient().signingOnly() }),
		comment: "mallory's own signed blob to bob with the signer key replaced by alice's, mallory's signature kept"})
	g.resigned(s)
	g.seed("blob x25519-swapped-wrap")
	mk := NewSessionKey()
	g.writeBlob(blobVector{name: "x25519-alice-signature-mallory-wrap", expect: "auth failure", identity: bob, verify: alice,
		data: tampered(s, func(c *rawBlob) {
			w, err := g.id(bob).Recipient().exchange.Wrap(mk.key[:], s.f.label())
			if err != nil {
				g.t.Fatal(err)
			}
			c.Wrapped = w
		}),
		comment: "alice's signed blob with the wrapped key replaced by mallory's key wrapped to bob under the same header"})
}

// resigned writes the unknown key-share vectors: alice's signed blob to bob
// with the signer replaced by mallory and re-signed by her, or stripped.
// The signer is bound into the wrap, so neither unwraps.
func (g *generator) resigned(s *KeyBlob) {
	bob, mallory := "bob-x25519", "mallory-x25519"
	g.seed("blob x25519-resigned-by-mallory")
	r := rawOf(s)
	r.SignerKey = g.id(mallory).Recipient().signingOnly()
	sig, err := g.id(mallory).Sign(blobContext, r.signedBytes())
	if err != nil {
		g.t.Fatal(err)
	}
	r.Signature = sig
	g.writeBlob(blobVector{name: "x25519-resigned-by-mallory", expect: "auth failure", identity: bob, verify: mallory, data: r.Marshal(),
		comment: "alice's signed blob to bob, its signer replaced by mallory's key and re-signed by mallory: her signature is valid, the unwrap fails"})
	g.writeBlob(blobVector{name: "x25519-resigned-by-mallory-no-verify", expect: "auth failure", identity: bob, data: r.Marshal(),
		comment: "the same, imported without requiring a signer"})
	st := rawOf(s)
	st.SignerKey, st.Signature = nil, nil
	g.writeBlob(blobVector{name: "x25519-signature-stripped", expect: "auth failure", identity: bob, data: st.Marshal(),
		comment: "alice's signed blob to bob with the signer and signature removed: the signer is bound into the wrap"})
}

// smallOrderSigners writes blobs whose signer key is an Ed25519 point of
// small order or a non-canonical encoding (section 3.2): malformed.
func (g *generator) smallOrderSigners(s *KeyBlob, sigAlgAt int) {
	bob, alice := "bob-x25519", "alice-x25519"
	keys := []struct{ name, hex, comment string }{
		{"identity", "0100000000000000000000000000000000000000000000000000000000000000", "the identity point (order 1), with which an all-identity signature verifies on any message"},
		{"order-2", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "the point of order 2"},
		{"order-4", "0000000000000000000000000000000000000000000000000000000000000000", "a point of order 4"},
		{"order-8", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", "a point of order 8"},
		{"non-canonical", "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "y = p, a non-canonical encoding"},
	}
	for _, k := range keys {
		raw, err := hex.DecodeString(k.hex)
		if err != nil {
			g.t.Fatal(err)
		}
		data := s.Marshal()
		copy(data[sigAlgAt+3:], raw) // the signer key follows its u16 length
		g.writeBlob(blobVector{name: "x25519-signer-" + k.name, expect: "malformed", identity: bob, verify: alice, data: data,
			comment: "the signer key replaced by " + k.comment})
	}
}

func (g *generator) descriptions() {
	bob, alice := "bob-x25519", "alice-x25519"
	ok := []struct{ name, desc, comment string }{
		{"desc-1024-ascii", strings.Repeat("0123456789abcdef", 64), "a description of exactly 1024 ASCII bytes, the maximum"},
		{"desc-utf8", "Schlüssel für das Archiv — 鍵 🔑", "a UTF-8 description"},
		{"desc-1024-utf8", strings.Repeat("🔑", 256), "a description of 256 four-byte runes, 1024 bytes"},
		{"desc-space-only", " ", "a description of one space"},
	}
	for _, d := range ok {
		b, key := g.export(d.name, bob, alice, d.desc)
		g.writeBlob(blobVector{name: "x25519-" + d.name, expect: "success", identity: bob, verify: alice, key: key, data: b.Marshal(), comment: d.comment})
	}
	u, _ := g.export("desc-bad", bob, "", "")
	bad := []struct{ name, desc, comment string }{
		{"desc-1025", strings.Repeat("x", 1025), "a description of 1025 bytes, one over the maximum"},
		{"desc-newline", "line one\nline two", "a description with a newline (a control character)"},
		{"desc-nul", "a\x00b", "a description with a NUL byte"},
		{"desc-c1", "a\u0085b", "a description with the C1 control character U+0085"},
		{"desc-invalid-utf8", "caf\xc3", "a description ending in a truncated UTF-8 sequence"},
	}
	for _, d := range bad {
		g.writeBlob(blobVector{name: "x25519-" + d.name, expect: "malformed", identity: bob,
			data: tampered(u, func(c *rawBlob) { c.Description = d.desc }), comment: d.comment})
	}
}

func (g *generator) structure() {
	bob, alice := "bob-hybrid", "alice-hybrid"
	s, _ := g.export("hybrid-structure", bob, alice, "structure")
	bin := s.Marshal()
	set := func(off int, v byte) []byte {
		out := bytes.Clone(bin)
		out[off] = v
		return out
	}
	vs := []blobVector{
		{name: "empty", data: []byte{}, binary: true, comment: "no bytes at all"},
		{name: "truncated-magic", data: bin[:3], binary: true, comment: "three bytes of the magic"},
		{name: "truncated-header", data: bin[:30], binary: true, comment: "cut inside the recipient fingerprint"},
		{name: "truncated-wrapped", data: bin[:200], binary: true, comment: "cut inside the wrapped key"},
		{name: "truncated-signature", data: bin[:len(bin)-1], binary: true, comment: "the last byte of the signature missing"},
		{name: "truncated-signer", data: bin[:66+len(s.Description())+10], binary: true, comment: "cut inside the signer key"},
		{name: "truncated-wrapped-end", data: bin[:len(bin)-70], binary: true, comment: "cut at the end of the wrapped key"},
		{name: "trailing-byte", data: append(bytes.Clone(bin), 0), binary: true, comment: "a zero byte after the signature"},
		{name: "trailing-blob", data: append(bytes.Clone(bin), bin...), comment: "two blobs in a row"},
		{name: "version-2", data: set(5, 2), comment: "version byte 2: unsupported"},
		{name: "version-0", data: set(5, 0), binary: true, comment: "version byte 0: unsupported"},
		{name: "type-unknown", data: set(4, 'z'), comment: "type byte 'z', assigned to nothing"},
		{name: "type-encrypted", data: set(4, 'e'), binary: true, comment: "type byte 'e' of encrypted files"},
		{name: "bad-magic", data: set(0, 'K'), binary: true, comment: "the magic spelt Kblb"},
	}
	for _, v := range vs {
		v.name, v.expect, v.identity, v.verify = "hybrid-"+v.name, "malformed", bob, alice
		g.writeBlob(v)
	}
	g.seed("session key as blob")
	g.writeBlob(blobVector{name: "session-key-as-blob", expect: "malformed", identity: bob, text: NewSessionKey().MarshalPEM(),
		comment: "a session key file where a key blob is expected"})
}

// armor writes the armor vectors: one per edge of the white space rule
// of spec/blob.md section 4, and the other ways armor can be malformed.
func (g *generator) armor() {
	bob, alice := "bob-x25519", "alice-x25519"
	s, key := g.export("armor", bob, alice, "armor")
	armored := string(s.MarshalPEM())
	lines := strings.Split(armored, "\n")
	noLF := strings.TrimSuffix(armored, "\n")
	ok := func(name, text, comment string) blobVector {
		return blobVector{name: name, expect: "success", key: key, text: []byte(text), comment: comment}
	}
	bad := func(name, text, comment string) blobVector {
		return blobVector{name: name, expect: "malformed", text: []byte(text), comment: comment}
	}
	vs := []blobVector{
		ok("armor-surrounding-space", "\n  "+armored+"\n\n", "white space around the block is allowed"),
		ok("armor-leading-white-space", " \t\r\n\n\t "+armored, "SP, HT, CR and LF before the begin line are skipped"),
		ok("armor-crlf", strings.ReplaceAll(armored, "\n", "\r\n"), "CR LF line ends"),
		ok("armor-mixed-line-ends", strings.Replace(armored, "\n", "\r\n", 2), "CR LF and LF line ends mixed in one block"),
		ok("armor-no-final-lf", noLF, "no line end after the end line"),
		ok("armor-crlf-no-final-lf", strings.ReplaceAll(noLF, "\n", "\r\n"), "CR LF line ends, none after the end line"),
		ok("armor-trailing-white-space", armored+" \t\r\n \n\t", "SP, HT, CR and LF after the end line are skipped"),
		ok("armor-end-line-spaces", noLF+"  \t\n", "spaces and a tab after the end line, on its line"),
		bad("armor-label", strings.ReplaceAll(armored, "KEY BLOB", "SESSION KEY"), "the PEM label changed to KEYBLOB SESSION KEY"),
		bad("armor-label-lower-case", strings.ReplaceAll(armored, "KEYBLOB KEY BLOB", "keyblob key blob"), "the PEM label in lower case"),
		bad("armor-header", strings.Replace(armored, "-----\n", "-----\nComment: hello\n\n", 1), "a PEM header line"),
		bad("armor-trailing-text", armored+"hello\n", "text after the block"),
		bad("armor-leading-text", "hello\n"+armored, "text before the block: not armored, and not a binary blob"),
		bad("armor-line-length", rewrap(armored, 76), "base64 lines of 76 characters instead of 64"),
		bad("armor-missing-end", strings.Join(lines[:len(lines)-2], "\n")+"\n", "no END line"),
		bad("armor-two-blocks", armored+armored, "the block twice"),
		bad("armor-leading-nbsp", "\u00a0"+armored, "U+00A0 (no-break space) before the begin line: not armored, and not a binary blob"),
		bad("armor-leading-u2028", "\u2028"+armored, "U+2028 (line separator) before the begin line: not armored, and not a binary blob"),
		bad("armor-leading-vt", "\v"+armored, "a vertical tab before the begin line: not armored, and not a binary blob"),
		bad("armor-trailing-nbsp", armored+"\u00a0", "U+00A0 (no-break space) after the end line"),
		bad("armor-trailing-u2028", armored+"\u2028\n", "U+2028 (line separator) after the end line"),
		bad("armor-trailing-vt", armored+"\v", "a vertical tab after the end line"),
		bad("armor-cr-only", strings.ReplaceAll(armored, "\n", "\r"), "CR line ends without LF"),
		bad("armor-cr-cr-lf", strings.Replace(armored, "\n", "\r\r\n", 2), "two CRs before an LF"),
		bad("armor-space-after-begin", strings.Replace(armored, "-----\n", "----- \n", 1), "a space after the begin line, on its line"),
		bad("armor-space-in-line", strings.Replace(armored, "\n", " \n", 2), "a space at the end of a base64 line"),
		bad("armor-blank-line", strings.Replace(armored, "-----\n", "-----\n\n", 1), "a blank line after the begin line"),
	}
	for _, v := range vs {
		v.name, v.identity, v.verify = "x25519-"+v.name, bob, alice
		g.writeBlob(v)
	}
}

func (g *generator) misc() {
	// CryptoAPI's "Storing Session Keys" proper: a key stored for oneself, signed by oneself.
	b, key := g.export("self-stored", "alice-hybrid", "alice-hybrid", "my archive key")
	g.writeBlob(blobVector{name: "hybrid-self-stored", expect: "success", identity: "alice-hybrid", verify: "alice-hybrid", key: key, data: b.Marshal(),
		comment: "Storing Session Keys: alice's session key wrapped to her own exchange key and signed by her own signature key"})
	b, key = g.export("cross-kind", "bob-hybrid", "alice-rsa-2048", "cross kind")
	g.writeBlob(blobVector{name: "hybrid-signed-by-rsa", expect: "success", identity: "bob-hybrid", verify: "alice-rsa-2048", key: key, data: b.Marshal(),
		comment: "a hybrid blob signed with RSA-PSS by an rsa-2048 identity"})
	g.writeBlob(blobVector{name: "hybrid-wrong-kind-identity", expect: "incorrect identity", identity: "bob-x25519", data: b.Marshal(),
		comment: "a blob for bob's hybrid key, imported with bob's x25519 identity"})
	b, _ = g.export("rsa-short", "bob-rsa-2048", "", "")
	g.writeBlob(blobVector{name: "rsa-2048-wrapped-255", expect: "malformed", identity: "bob-rsa-2048",
		data:    tampered(b, func(c *rawBlob) { c.Wrapped = c.Wrapped[1:] }),
		comment: "an RSA-OAEP wrapped key of 255 bytes, under the 2048-bit minimum"})
	g.writeBlob(blobVector{name: "rsa-2048-wrapped-257", expect: "auth failure", identity: "bob-rsa-2048",
		data:    tampered(b, func(c *rawBlob) { c.Wrapped = append(c.Wrapped, 0) }),
		comment: "an RSA-OAEP wrapped key of 257 bytes: a valid size in general, but not for this 2048-bit key"})
	// The largest creation time.
	g.seed("blob max-created")
	mk := NewSessionKey()
	maxBlob := &rawBlob{ExchangeAlg: ExchangeX25519, Recipient: g.id("bob-x25519").Recipient().ExchangeFingerprint(),
		SessionAlg: SessionAES256GCM, Serial: mk.serial, Created: time.Unix(math.MaxInt64, 0).UTC()}
	w, err := g.id("bob-x25519").Recipient().exchange.Wrap(mk.key[:], maxBlob.label())
	if err != nil {
		g.t.Fatal(err)
	}
	maxBlob.Wrapped = w
	g.writeBlob(blobVector{name: "x25519-created-max", expect: "success", identity: "bob-x25519", key: mk, data: mustParseBlob(g.t, maxBlob.Marshal()).Marshal(), binary: true,
		comment: "the largest creation time, 2^63-1 seconds after 1970"})
}

// streamVector is one encrypted file vector to write.
type streamVector struct {
	name, comment, expect string
	key                   string // key file name
	data                  []byte
	plaintext             []byte // on success
}

func (g *generator) writeStream(v streamVector) {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "expect: %s\n", v.expect)
	fmt.Fprintf(&buf, "key: %s\n", v.key)
	if v.expect == "success" {
		sum := sha256.Sum256(v.plaintext)
		fmt.Fprintf(&buf, "plaintext size: %d\n", len(v.plaintext))
		fmt.Fprintf(&buf, "plaintext sha256: %x\n", sum)
	}
	inline := len(v.data) <= 512
	if !inline {
		fmt.Fprintf(&buf, "file: %s.bin\n", v.name)
		g.write(filepath.Join(streamDir, v.name+".bin"), v.data)
	}
	fmt.Fprintf(&buf, "comment: %s\n\n", v.comment)
	if inline {
		writeHex(&buf, v.data)
	}
	g.write(filepath.Join(streamDir, v.name+".txt"), buf.Bytes())
	g.nStream++
}

// sealed builds an encrypted file chunk by chunk with explicit last flags,
// following spec/stream.md with crypto/hkdf and crypto/cipher directly
// rather than internal/stream, so that it can also break the rules.
func (g *generator) sealed(key *SessionKey, chunks [][]byte, last []bool) []byte {
	header := format.Prefix(format.TypeEncrypted)
	header = append(header, byte(key.Alg()))
	serial := key.Serial()
	header = append(header, serial[:]...)
	nonce := make([]byte, 16)
	rand.Read(nonce)
	payloadKey, err := hkdf.Key(sha256.New, key.Bytes(), nonce, "keyblob/v1 encrypted file"+string(header), 32)
	if err != nil {
		g.t.Fatal(err)
	}
	block, err := aes.NewCipher(payloadKey)
	if err != nil {
		g.t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		g.t.Fatal(err)
	}
	commitment, err := hkdf.Key(sha256.New, key.Bytes(), nonce, "keyblob/v1 encrypted file key commitment"+string(header), 32)
	if err != nil {
		g.t.Fatal(err)
	}
	out := append(append(header, nonce...), commitment...)
	for i, chunk := range chunks {
		var n [12]byte
		binary.BigEndian.PutUint64(n[3:11], uint64(i))
		if last[i] {
			n[11] = 1
		}
		out = aead.Seal(out, n[:], chunk, nil)
	}
	return out
}

func (g *generator) streams() {
	const chunk = stream.ChunkSize
	g.seed("stream session key")
	key := NewSessionKey()
	g.write(filepath.Join(streamDir, "session.key"), key.MarshalPEM())
	g.seed("stream other session key")
	other := NewSessionKey()
	sameSerialBytes := key.Marshal()
	sameSerialBytes[len(sameSerialBytes)-1] ^= 1
	sameSerial, err := ParseSessionKey(sameSerialBytes)
	if err != nil {
		g.t.Fatal(err)
	}

	enc := func(name string, k *SessionKey, pt []byte) []byte {
		g.seed("stream " + name)
		return encrypt(g.t, k, pt, 1)
	}
	ok := func(name string, size int, comment string) []byte {
		pt := testPlaintext(size, uint64(size))
		data := enc(name, key, pt)
		g.writeStream(streamVector{name: name, expect: "success", key: "session.key", data: data, plaintext: pt, comment: comment})
		return data
	}
	ok("size-0", 0, "empty plaintext: one empty final chunk")
	ok("size-1", 1, "one byte")
	ok("size-65535", chunk-1, "one byte short of a full chunk")
	full := ok("size-65536", chunk, "exactly one full chunk, which is the final chunk")
	ok("size-65537", chunk+1, "one full chunk and a final chunk of one byte")
	two := ok("size-131072", 2*chunk, "exactly two full chunks")
	three := ok("size-131073", 2*chunk+1, "two full chunks and a final chunk of one byte")

	h := EncryptedHeaderSize
	enc1 := stream.EncChunkSize
	fail := func(name, expect string, data []byte, comment string) {
		g.writeStream(streamVector{name: name, expect: expect, key: "session.key", data: data, comment: comment})
	}
	fail("truncated-at-boundary", "auth failure", three[:h+2*enc1], "size-131073 cut after its second full chunk: that chunk is not marked final")
	fail("truncated-after-first-chunk", "auth failure", two[:h+enc1], "size-131072 cut after its first chunk")
	fail("truncated-header-only", "auth failure", full[:h], "a header and no payload: even an empty file has one sealed chunk")
	fail("truncated-last-byte", "auth failure", full[:len(full)-1], "size-65536 without the last byte of its tag")
	fail("truncated-in-header", "malformed", full[:20], "cut inside the header")
	fail("empty", "malformed", []byte{}, "no bytes at all")
	fail("appended-byte", "auth failure", append(bytes.Clone(full), 0), "a zero byte after the final chunk")
	fail("appended-chunk", "auth failure", append(bytes.Clone(two), two[h:h+enc1]...), "size-131072 with its first chunk repeated at the end")
	swapped := bytes.Clone(two)
	copy(swapped[h:], two[h+enc1:h+2*enc1])
	copy(swapped[h+enc1:], two[h:h+enc1])
	fail("chunks-swapped", "auth failure", swapped, "size-131072 with its two chunks swapped")
	fail("flipped-magic", "malformed", flip(full, 1), "a bit of the magic flipped")
	fail("flipped-version", "malformed", withByte(full, 5, 2), "version 2")
	fail("flipped-type", "malformed", withByte(full, 4, 'b'), "the type byte of key blobs")
	fail("flipped-alg", "malformed", withByte(full, 6, 2), "the unassigned session key algorithm 2")
	fail("flipped-serial", "wrong session key", flip(full, 10), "a bit of the serial flipped: the file names another key")
	fail("flipped-nonce", "auth failure", flip(full, h-33), "a bit of the nonce flipped: the key commitment no longer matches")
	fail("flipped-commitment", "auth failure", flip(full, h-1), "a bit of the key commitment flipped: refused before any chunk is opened")
	fail("flipped-payload", "auth failure", flip(full, h+100), "a bit of the first chunk flipped")
	fail("flipped-tag", "auth failure", flip(full, len(full)-3), "a bit of the final chunk's tag flipped")

	g.seed("stream last-flag")
	pt := testPlaintext(chunk, chunk)
	fail("last-flag-missing", "auth failure", g.sealed(key, [][]byte{pt}, []bool{false}),
		"one full chunk sealed as not final, and nothing after it")
	fail("last-flag-early", "auth failure", g.sealed(key, [][]byte{pt, {1}}, []bool{true, false}),
		"a full first chunk sealed as final, then a one-byte chunk sealed as not final")
	fail("last-flag-both", "auth failure", g.sealed(key, [][]byte{pt, {1}}, []bool{true, true}),
		"two chunks both sealed as final")
	fail("empty-final-chunk", "auth failure", g.sealed(key, [][]byte{pt, {}}, []bool{false, true}),
		"a full chunk and then an empty final chunk: a full final chunk must be used instead")
	fail("short-middle-chunk", "auth failure", g.sealed(key, [][]byte{pt[:100], pt[:100]}, []bool{false, true}),
		"a short chunk that is not final")
	g.seed("stream valid by hand")
	byHand := g.sealed(key, [][]byte{pt, pt[:5]}, []bool{false, true})
	g.writeStream(streamVector{name: "sealed-by-hand", expect: "success", key: "session.key", data: byHand,
		plaintext: append(bytes.Clone(pt), pt[:5]...), comment: "two chunks sealed one by one, as spec/stream.md describes"})

	g.writeStream(streamVector{name: "wrong-serial", expect: "wrong session key", key: "session.key", data: enc("wrong-serial", other, []byte("hello")),
		comment: "encrypted with another session key, of another serial"})
	g.writeStream(streamVector{name: "same-serial-other-key", expect: "auth failure", key: "session.key", data: enc("same-serial", sameSerial, []byte("hello")),
		comment: "encrypted with a key of the same serial but other key bytes"})
}

func withByte(data []byte, i int, v byte) []byte {
	b := bytes.Clone(data)
	b[i] = v
	return b
}
