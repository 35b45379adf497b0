package seal

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/stream"
	"github.com/keyblob/keyblob/password"
	"github.com/keyblob/keyblob/replay"
	"github.com/keyblob/keyblob/replay/sqlitecache"
)

// This file holds the tests of the sealing and opening API and, first, the
// helpers every test file of the package shares: test identities, sealing
// and opening through each path, error classes, and the pieces to craft
// messages that Seal would refuse to write.

// cheapParams are the smallest Argon2id costs the format allows, so that
// passphrase tests are fast.
var cheapParams = password.Params{Time: 1, MemoryKiB: 8 << 10, Threads: 1}

// testTime is the creation time of messages whose time matters.
var testTime = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// testIDs caches identities for the whole test binary: RSA keys take
// a while to generate.
var testIDs = struct {
	sync.Mutex
	m map[string]*keyblob.Identity
}{m: map[string]*keyblob.Identity{}}

// testIdentity returns the identity called name, made on first use. The
// kind is what follows the first dash: "alice-x25519", "dave-rsa-2048".
func testIdentity(t testing.TB, name string) *keyblob.Identity {
	t.Helper()
	testIDs.Lock()
	defer testIDs.Unlock()
	if id, ok := testIDs.m[name]; ok {
		return id
	}
	_, kind, _ := strings.Cut(name, "-")
	id, err := keyblob.GenerateIdentity(kind)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	testIDs.m[name] = id
	return id
}

func identities(t testing.TB, names ...string) []*keyblob.Identity {
	t.Helper()
	var ids []*keyblob.Identity
	for _, name := range names {
		ids = append(ids, testIdentity(t, name))
	}
	return ids
}

func recipientsOf(ids ...*keyblob.Identity) []*keyblob.Recipient {
	var rs []*keyblob.Recipient
	for _, id := range ids {
		rs = append(rs, id.Recipient())
	}
	return rs
}

// testPlaintext returns n pseudo-random bytes, the same for the same seed.
func testPlaintext(n int, seed uint64) []byte {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	b := make([]byte, n)
	mrand.NewChaCha8(s).Read(b)
	return b
}

// sealMsg seals plain with NewWriter, writing it in uneven pieces.
func sealMsg(t testing.TB, plain []byte, opts *Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, opts)
	if err != nil {
		t.Fatal(err)
	}
	for p := plain; len(p) > 0; {
		n := min(len(p), 10000)
		if _, err := w.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// armor returns msg armored by ArmorWriter.
func armor(t testing.TB, msg []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	a, err := NewArmorWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write(msg); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// openStream opens msg, armored or not, from a bytes.Reader and reads its
// plaintext with Reader. On error it also returns what was read before.
func openStream(msg []byte, opts *OpenOptions) ([]byte, error) {
	var src io.Reader = bytes.NewReader(msg)
	if IsArmored(msg) {
		src = NewArmorReader(src)
	}
	o, err := Open(src, opts)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(o.Reader())
}

// tempFile writes data to a new file and returns it open at offset 0.
func tempFile(t testing.TB, data []byte) *os.File {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "msg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	return f
}

// openFile opens msg from a regular file (with OpenAt; through the armor
// with Open if msg is armored) and writes the plaintext: with WriteTo to a
// bytes.Buffer, or with toFile with Decrypt to a regular file at offsets,
// whose content it returns. On error it also returns what was written
// before.
func openFile(t testing.TB, msg []byte, opts *OpenOptions, toFile bool) ([]byte, error) {
	t.Helper()
	f := tempFile(t, msg)
	var o *Opener
	var err error
	if IsArmored(msg) {
		o, err = Open(NewArmorReader(f), opts)
	} else {
		o, err = OpenAt(f, int64(len(msg)), opts)
	}
	if err != nil {
		return nil, err
	}
	if !toFile {
		var buf bytes.Buffer
		_, err := o.WriteTo(&buf)
		return buf.Bytes(), err
	}
	dst := tempFile(t, nil)
	_, err = o.Decrypt(Sink{At: dst})
	out, rerr := os.ReadFile(dst.Name())
	if rerr != nil {
		t.Fatal(rerr)
	}
	return out, err
}

// Result classes of spec/sealed.md, 7, plus the refusals that are not
// failures of the message.
const (
	classSuccess = "success"
	classNoMatch = "no match"
	classHeader  = "header failure"
	classMAC     = "MAC failure"
	classPayload = "payload failure"
	classArmor   = "armor failure"
)

// errorClass names the class of an Open or read error.
func errorClass(err error) string {
	switch {
	case err == nil:
		return classSuccess
	case errors.Is(err, ErrArmor):
		return classArmor
	case errors.Is(err, ErrNoMatch):
		return classNoMatch
	case errors.Is(err, ErrMalformed), errors.Is(err, errStanzaAuth), errors.Is(err, ErrPassphrase):
		return classHeader
	case errors.Is(err, errHeaderAuth):
		return classMAC
	case errors.Is(err, errPayloadAuth):
		return classPayload
	case errors.Is(err, ErrNotSigned):
		return "not signed"
	case errors.Is(err, ErrWrongSender):
		return "wrong sender"
	case errors.Is(err, ErrExpired):
		return "expired"
	case errors.Is(err, replay.ErrReplay):
		return "replay"
	case errors.Is(err, replay.ErrTooOld):
		return "too old"
	case errors.Is(err, replay.ErrFuture):
		return "future"
	}
	return "unexpected error: " + err.Error()
}

// parts are the three parts of a binary message.
type parts struct {
	h                        *Header
	header, payload, trailer []byte
}

func split(t testing.TB, msg []byte) parts {
	t.Helper()
	h, err := ReadHeader(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	end := len(msg) - h.SignatureSize()
	return parts{h: h, header: msg[:h.Size()], payload: msg[h.Size():end], trailer: msg[end:]}
}

// join concatenates byte strings into a new slice.
func join(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

// chunksOf cuts a payload into its sealed chunks.
func chunksOf(payload []byte) [][]byte {
	var cs [][]byte
	for len(payload) > stream.EncChunkSize {
		cs = append(cs, payload[:stream.EncChunkSize])
		payload = payload[stream.EncChunkSize:]
	}
	return append(cs, payload)
}

// payloadDigest is the payload digest of spec/sealed.md, 3.
func payloadDigest(payload []byte) []byte {
	d := stream.NewChunkDigest(digestPrefix)
	for _, c := range chunksOf(payload) {
		s := sha256.Sum256(c)
		d.Write(s[:])
	}
	return d.Sum(nil)
}

// signMsg returns the trailer signer would write for a header and payload.
func signMsg(t testing.TB, signer *keyblob.Identity, header, payload []byte) []byte {
	t.Helper()
	sig, err := signer.Sign(signatureContext, join(header, payloadDigest(payload)))
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// sessionKeyOf opens msg with id and returns its session key.
func sessionKeyOf(t testing.TB, msg []byte, id *keyblob.Identity) *keyblob.SessionKey {
	t.Helper()
	var src io.Reader = bytes.NewReader(msg)
	if IsArmored(msg) {
		src = NewArmorReader(src)
	}
	o, err := Open(src, &OpenOptions{Identities: []*keyblob.Identity{id}})
	if err != nil {
		t.Fatal(err)
	}
	return o.SessionKey()
}

// prefixOf encodes magic through sig-len of a header with these fields.
func prefixOf(t testing.TB, created, expires time.Time, serial keyblob.Serial, signer *keyblob.Identity) []byte {
	t.Helper()
	f := headerFields{Created: created, Expires: expires, Serial: serial}
	if err := f.setSigner(signer); err != nil {
		t.Fatal(err)
	}
	prefix, err := f.encodePrefix()
	if err != nil {
		t.Fatal(err)
	}
	return prefix
}

// blobStanza exports key to r as a recipient stanza dated created.
func blobStanza(t testing.TB, key *keyblob.SessionKey, r *keyblob.Recipient, created time.Time) Stanza {
	t.Helper()
	b, err := keyblob.Export(key, r, &keyblob.ExportOptions{Time: created})
	if err != nil {
		t.Fatal(err)
	}
	return Stanza{typ: StanzaBlob, body: b.Marshal(), blob: b}
}

// passphraseStanza wraps key under pass with a new random salt, bound to
// the header prefix.
func passphraseStanza(t testing.TB, key *keyblob.SessionKey, pass []byte, params password.Params, prefix []byte) Stanza {
	t.Helper()
	rand.Read(params.Salt[:])
	p, err := newPassStanza(pass, params, key, prefix)
	if err != nil {
		t.Fatal(err)
	}
	return Stanza{typ: StanzaPassphrase, body: p.encode(), pass: p}
}

// passBody encodes a passphrase stanza body with any parameters.
func passBody(timeCost, memory uint32, threads uint8) []byte {
	var b cryptobyte.Builder
	b.AddUint32(timeCost)
	b.AddUint32(memory)
	b.AddUint8(threads)
	b.AddBytes(make([]byte, password.SaltSize))
	b.AddBytes(make([]byte, passWrappedSize))
	return b.BytesOrPanic()
}

// assemble makes a whole message from a header prefix (magic through
// sig-len) and Stanzas: a random nonce, the MAC under key, the payload of
// plain, and with signer the signature trailer. All it computes is correct,
// so a message crafted with a bad prefix or stanza has only that fault.
func assemble(t testing.TB, key *keyblob.SessionKey, prefix []byte, stanzas []Stanza, plain []byte, signer *keyblob.Identity) []byte {
	t.Helper()
	return finishMsg(t, key, headerAfter(t, prefix, stanzas), plain, signer)
}

// headerAfter encodes stanzas and a random nonce after a header prefix
// (magic through sig-len), with no MAC. Only the encoding is meant: the
// prefix may be crafted, so the header's values other than stanzas and
// nonce are not those of the prefix.
func headerAfter(t testing.TB, prefix []byte, stanzas []Stanza) *Header {
	t.Helper()
	f := headerFields{Stanzas: stanzas}
	rand.Read(f.Nonce[:])
	h, err := encodeHeader(f, prefix)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// editedHeader is how a test makes a modified header: it applies edit to
// a copy of the values of h and encodes them again, keeping h's MAC.
func editedHeader(t testing.TB, h *Header, edit func(f *headerFields)) *Header {
	t.Helper()
	f := h.f
	f.Stanzas = slices.Clone(f.Stanzas)
	edit(&f)
	prefix, err := f.encodePrefix()
	if err != nil {
		t.Fatal(err)
	}
	e, err := encodeHeader(f, prefix)
	if err != nil {
		t.Fatal(err)
	}
	e.mac = h.mac
	return e
}

// finishMsg MACs the encoded header h under key and appends the payload
// and, with signer, the trailer.
func finishMsg(t testing.TB, key *keyblob.SessionKey, h *Header, plain []byte, signer *keyblob.Identity) []byte {
	t.Helper()
	h.mac = h.computeMAC(key)
	payload := sealPayload(t, key, h, plain)
	msg := join(h.bytes(), payload)
	if signer != nil {
		msg = append(msg, signMsg(t, signer, h.bytes(), payload)...)
	}
	return msg
}

// sealPayload seals plain under the payload key of header h: what any
// holder of the session key can do.
func sealPayload(t testing.TB, key *keyblob.SessionKey, h *Header, plain []byte) []byte {
	t.Helper()
	c, err := stream.NewCipher(h.payloadKey(key))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := stream.NewWriter(c, &buf, 1)
	if _, err := w.Write(plain); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// cloneHeader returns a parsed copy of h that can be changed.
func cloneHeader(t testing.TB, h *Header) *Header {
	t.Helper()
	c, err := ReadHeader(bytes.NewReader(h.bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantClass fails unless err is of the class want.
func wantClass(t testing.TB, what string, err error, want string) {
	t.Helper()
	if got := errorClass(err); got != want {
		t.Errorf("%s: got %s (%v), want %s", what, got, err, want)
	}
}

// wantPlain fails unless the open succeeded with plaintext want.
func wantPlain(t testing.TB, what string, got []byte, err error, want []byte) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: plaintext of %d bytes differs from the %d sealed", what, len(got), len(want))
	}
}

// openBoth opens a binary message through the streaming path and the file
// path, checks they agree, and returns the plaintext and error of the
// streaming path.
func openBoth(t testing.TB, what string, msg []byte, opts func() *OpenOptions) ([]byte, error) {
	t.Helper()
	p1, err1 := openStream(msg, opts())
	p2, err2 := openFile(t, msg, opts(), false)
	if c1, c2 := errorClass(err1), errorClass(err2); c1 != c2 {
		t.Errorf("%s: the streaming path gives %s (%v), the file path %s (%v)", what, c1, err1, c2, err2)
	}
	if err1 == nil && err2 == nil && !bytes.Equal(p1, p2) {
		t.Errorf("%s: the streaming and file paths give different plaintexts", what)
	}
	return p1, err1
}

func TestRoundTripRecipients(t *testing.T) {
	pool := []string{"bob-x25519", "carol-hybrid", "dave-rsa-2048", "erin-x25519", "frank-hybrid"}
	algs := map[string]string{"x25519": "X25519 HPKE", "hybrid": "MLKEM768-X25519 HPKE", "rsa-2048": "RSA-OAEP-SHA256"}
	for _, n := range []int{1, 2, 5} {
		t.Run(fmt.Sprintf("%d recipients", n), func(t *testing.T) {
			ids := identities(t, pool[:n]...)
			plain := testPlaintext(1000+n, uint64(n))
			msg := sealMsg(t, plain, &Options{Recipients: recipientsOf(ids...)})
			for i, id := range ids {
				got, err := openBoth(t, pool[i], msg, func() *OpenOptions {
					return &OpenOptions{Identities: []*keyblob.Identity{id}}
				})
				wantPlain(t, pool[i], got, err, plain)
			}
			// Several identities at once: the first that matches opens.
			got, err := openStream(msg, &OpenOptions{Identities: identities(t, "outsider-x25519", pool[n-1])})
			wantPlain(t, "with an outsider first", got, err, plain)

			_, err = openStream(msg, &OpenOptions{Identities: identities(t, "outsider-x25519", "outsider-hybrid")})
			if !errors.Is(err, ErrNoMatch) {
				t.Fatalf("outsiders: got %v, want ErrNoMatch", err)
			}
			counts := map[string]int{}
			for _, name := range pool[:n] {
				_, kind, _ := strings.Cut(name, "-")
				counts[algs[kind]]++
			}
			text := err.Error()
			if !strings.Contains(text, fmt.Sprintf("%d recipient(s)", n)) {
				t.Errorf("the error does not say how many recipients: %q", text)
			}
			for alg, c := range counts {
				if !strings.Contains(text, fmt.Sprintf("%d × %s", c, alg)) {
					t.Errorf("the error does not list %d × %s: %q", c, alg, text)
				}
			}
		})
	}
}

// TestDistinctRecipients checks that a recipient given twice, even as
// another Recipient value of the same key, gets one stanza, in the order
// of first mention, and that every distinct one still opens the message.
func TestDistinctRecipients(t *testing.T) {
	bob, carol := testIdentity(t, "bob-x25519"), testIdentity(t, "carol-hybrid")
	again, err := keyblob.ParseRecipient([]byte(bob.Recipient().String()))
	if err != nil {
		t.Fatal(err)
	}
	plain := testPlaintext(100, 7)
	var out bytes.Buffer
	h, err := Seal(Sink{W: &out}, Source{R: bytes.NewReader(plain)}, &Options{Recipients: []*keyblob.Recipient{bob.Recipient(), carol.Recipient(), again, carol.Recipient()}})
	if err != nil {
		t.Fatal(err)
	}
	st := h.Stanzas()
	if len(st) != 2 {
		t.Fatalf("%d stanzas, want 2", len(st))
	}
	for i, id := range []*keyblob.Identity{bob, carol} {
		if !st[i].Blob().Recipient().Equal(id.Recipient().ExchangeFingerprint()) {
			t.Errorf("stanza %d is not for recipient %d", i, i)
		}
		got, err := openStream(out.Bytes(), &OpenOptions{Identities: []*keyblob.Identity{id}})
		wantPlain(t, fmt.Sprint("recipient ", i), got, err, plain)
	}
}

func TestSealOptions(t *testing.T) {
	bob := testIdentity(t, "bob-x25519")
	alice := testIdentity(t, "alice-x25519").Recipient()
	signOnly, err := keyblob.ParseSigningKey(alice.SignatureAlg(), alice.SigningKeyBytes())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts *Options
	}{
		{"nil options", nil},
		{"no recipients", &Options{}},
		{"recipients and passphrase", &Options{Recipients: recipientsOf(bob), Passphrase: []byte("pw"), Params: &cheapParams}},
		{"too many recipients", &Options{Recipients: make([]*keyblob.Recipient, MaxStanzas+1)}},
		{"expiry at creation", &Options{Recipients: recipientsOf(bob), Time: testTime, Expires: testTime}},
		{"expiry before creation", &Options{Recipients: recipientsOf(bob), Time: testTime, Expires: testTime.Add(-time.Hour)}},
		{"recipient that only signs", &Options{Recipients: []*keyblob.Recipient{signOnly}}},
		{"created before 1970", &Options{Passphrase: []byte("pw"), Params: &cheapParams, Time: time.Unix(-10, 0)}},
		{"bad passphrase params", &Options{Passphrase: []byte("pw"), Params: &password.Params{Time: 100, MemoryKiB: 8 << 10, Threads: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewWriter(io.Discard, tt.opts); err == nil {
				t.Error("NewWriter accepted the options")
			}
			if _, err := Seal(Sink{W: io.Discard}, Source{R: bytes.NewReader(nil)}, tt.opts); err == nil {
				t.Error("Seal accepted the options")
			}
		})
	}
}

func TestSigned(t *testing.T) {
	bob := testIdentity(t, "bob-x25519")
	plain := testPlaintext(5000, 1)
	byBob := func(from *keyblob.Recipient) func() *OpenOptions {
		return func() *OpenOptions { return &OpenOptions{Identities: []*keyblob.Identity{bob}, From: from} }
	}
	for _, signerName := range []string{"alice-x25519", "dave-rsa-2048"} {
		t.Run(signerName, func(t *testing.T) {
			signer := testIdentity(t, signerName)
			mallory := testIdentity(t, "mallory-x25519")
			msg := sealMsg(t, plain, &Options{Recipients: recipientsOf(bob), Signer: signer})
			p := split(t, msg)
			if !p.h.Signed() || p.h.SignatureSize() != signer.Recipient().SignatureSize() || len(p.trailer) != p.h.SignatureSize() {
				t.Fatalf("signed header: signer %v, sig-len %d, trailer %d", p.h.Signer(), p.h.SignatureSize(), len(p.trailer))
			}
			got, err := openBoth(t, "from the signer", msg, byBob(signer.Recipient()))
			wantPlain(t, "from the signer", got, err, plain)
			got, err = openBoth(t, "no sender required", msg, byBob(nil))
			wantPlain(t, "no sender required", got, err, plain)

			o, err := Open(bytes.NewReader(msg), byBob(nil)())
			if err != nil {
				t.Fatal(err)
			}
			if !o.Header().Signer().SigningFingerprint().Equal(signer.Recipient().SigningFingerprint()) {
				t.Error("Header.Signer() is not the signer's key")
			}
			_, err = openBoth(t, "from someone else", msg, byBob(mallory.Recipient()))
			if !errors.Is(err, ErrWrongSender) {
				t.Errorf("from someone else: got %v, want ErrWrongSender", err)
			}
		})
	}
	t.Run("unsigned", func(t *testing.T) {
		alice := testIdentity(t, "alice-x25519")
		msg := sealMsg(t, plain, &Options{Recipients: recipientsOf(bob)})
		_, err := openBoth(t, "unsigned with From", msg, byBob(alice.Recipient()))
		if !errors.Is(err, ErrNotSigned) {
			t.Errorf("got %v, want ErrNotSigned", err)
		}
	})
	t.Run("signer that cannot sign", func(t *testing.T) {
		file := mustPEM(t, testIdentity(t, "alice-x25519"))
		onlyEx, err := keyblob.ParseIdentity(file[:firstBlockEnd(t, file)])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewWriter(io.Discard, &Options{Recipients: recipientsOf(bob), Signer: onlyEx}); !errors.Is(err, keyblob.ErrCannotSign) {
			t.Errorf("got %v, want ErrCannotSign", err)
		}
	})
}

func mustPEM(t testing.TB, id *keyblob.Identity) []byte {
	t.Helper()
	b, err := id.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// firstBlockEnd returns the end of the first PEM block of an identity
// file: its exchange key alone.
func firstBlockEnd(t testing.TB, file []byte) int {
	t.Helper()
	const end = "-----END PRIVATE KEY-----\n"
	i := bytes.Index(file, []byte(end))
	if i < 0 {
		t.Fatal("no PEM block")
	}
	return i + len(end)
}

// TestResigned: mallory cannot pass a message off as hers, nor hers as
// alice's, by swapping the signer key in the header and the signature.
func TestResigned(t *testing.T) {
	alice, bob, mallory := testIdentity(t, "alice-x25519"), testIdentity(t, "bob-x25519"), testIdentity(t, "mallory-x25519")
	plain := testPlaintext(3000, 2)
	signed := split(t, sealMsg(t, plain, &Options{Recipients: recipientsOf(bob), Signer: alice}))
	unsigned := split(t, sealMsg(t, plain, &Options{Recipients: recipientsOf(bob)}))

	withSigner := func(p parts, signer *keyblob.Identity) *Header {
		// The MAC is kept: mallory does not know the session key.
		return editedHeader(t, p.h, func(f *headerFields) {
			f.Signer, f.SigLen = nil, 0
			if err := f.setSigner(signer); err != nil {
				t.Fatal(err)
			}
		})
	}
	swapped := withSigner(signed, mallory)
	added := withSigner(unsigned, mallory)
	stripped := withSigner(signed, nil)

	tests := []struct {
		name string
		msg  []byte
		from *keyblob.Recipient
		want string
	}{
		{"signer swapped, alice's signature kept", join(swapped.bytes(), signed.payload, signed.trailer), nil, classMAC},
		{"signer swapped, signed by mallory", join(swapped.bytes(), signed.payload, signMsg(t, mallory, swapped.bytes(), signed.payload)), nil, classMAC},
		{"signer swapped, signed by mallory, from mallory", join(swapped.bytes(), signed.payload, signMsg(t, mallory, swapped.bytes(), signed.payload)), mallory.Recipient(), classMAC},
		{"signer swapped, from alice", join(swapped.bytes(), signed.payload, signMsg(t, mallory, swapped.bytes(), signed.payload)), alice.Recipient(), "wrong sender"},
		{"alice's key kept, signed by mallory", join(signed.header, signed.payload, signMsg(t, mallory, signed.header, signed.payload)), nil, classPayload},
		{"alice's key kept, signed by mallory, from alice", join(signed.header, signed.payload, signMsg(t, mallory, signed.header, signed.payload)), alice.Recipient(), classPayload},
		{"unsigned message signed by mallory", join(added.bytes(), unsigned.payload, signMsg(t, mallory, added.bytes(), unsigned.payload)), nil, classMAC},
		{"signature stripped", join(stripped.bytes(), signed.payload), nil, classMAC},
		{"trailer dropped, signer kept", join(signed.header, signed.payload), nil, classPayload},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := openBoth(t, tt.name, tt.msg, func() *OpenOptions {
				return &OpenOptions{Identities: []*keyblob.Identity{bob}, From: tt.from}
			})
			wantClass(t, tt.name, err, tt.want)
		})
	}
}

// TestMovedHeader: a signed header and its signature do not vouch for any
// other payload, not even one a recipient made under the same session key.
func TestMovedHeader(t *testing.T) {
	alice, bob, carol := testIdentity(t, "alice-x25519"), testIdentity(t, "bob-x25519"), testIdentity(t, "carol-hybrid")
	opts := &Options{Recipients: recipientsOf(bob, carol), Signer: alice}
	plainA, plainB := testPlaintext(70000, 3), testPlaintext(70000, 4)
	a := split(t, sealMsg(t, plainA, opts))
	b := split(t, sealMsg(t, plainB, opts))
	carolFromAlice := func() *OpenOptions {
		return &OpenOptions{Identities: []*keyblob.Identity{carol}, From: alice.Recipient()}
	}

	t.Run("payload of another message", func(t *testing.T) {
		for _, trailer := range [][]byte{a.trailer, b.trailer} {
			_, err := openBoth(t, "A's header, B's payload", join(a.header, b.payload, trailer), carolFromAlice)
			wantClass(t, "A's header, B's payload", err, classPayload)
		}
	})
	t.Run("insider re-encrypts under the same session key", func(t *testing.T) {
		// Bob knows the session key, so he can seal any payload under A's
		// header: the STREAM layer accepts it, only the signature does not.
		key := sessionKeyOf(t, join(a.header, a.payload, a.trailer), bob)
		forged := sealPayload(t, key, cloneHeader(t, a.h), plainB)
		msg := join(a.header, forged, a.trailer)
		got, err := openBoth(t, "forged payload", msg, carolFromAlice)
		wantClass(t, "forged payload", err, classPayload)
		// What the Reader returned before the error is STREAM-authenticated
		// (it is bob's), not sender-authenticated: that comes only at EOF,
		// which is why a consumer must discard everything on an error.
		if !bytes.Equal(got, plainB) {
			t.Errorf("the Reader returned %d bytes before the error, want bob's whole payload", len(got))
		}
		_, err = openFile(t, msg, carolFromAlice(), true)
		wantClass(t, "forged payload to a file", err, classPayload)
	})
	t.Run("unsigned messages do not authenticate the sender", func(t *testing.T) {
		// Without a signature any recipient can do the same undetected:
		// spec/sealed.md, 3. This documents it.
		u := split(t, sealMsg(t, plainA, &Options{Recipients: recipientsOf(bob, carol)}))
		key := sessionKeyOf(t, join(u.header, u.payload), bob)
		forged := sealPayload(t, key, cloneHeader(t, u.h), plainB)
		got, err := openBoth(t, "forged", join(u.header, forged), func() *OpenOptions {
			return &OpenOptions{Identities: []*keyblob.Identity{carol}}
		})
		wantPlain(t, "forged unsigned", got, err, plainB)
	})
}

// TestReaddress: a recipient cannot re-address a signed message to a third
// party as if the sender had sent it to them: the MAC and the signature
// cover every stanza.
func TestReaddress(t *testing.T) {
	alice, bob, carol := testIdentity(t, "alice-x25519"), testIdentity(t, "bob-x25519"), testIdentity(t, "carol-hybrid")
	plain := testPlaintext(2000, 5)
	msg := sealMsg(t, plain, &Options{Recipients: recipientsOf(bob), Signer: alice, Time: testTime})
	p := split(t, msg)
	key := sessionKeyOf(t, msg, bob)
	toCarol := blobStanza(t, key, carol.Recipient(), p.h.Created())

	readdress := func(stanzas []Stanza, remac bool) *Header {
		h := editedHeader(t, p.h, func(f *headerFields) { f.Stanzas = stanzas })
		if remac {
			h.mac = h.computeMAC(key)
		}
		return h
	}
	replaced := readdress([]Stanza{toCarol}, false)
	addedTo := readdress([]Stanza{p.h.Stanzas()[0], toCarol}, false)
	remaced := readdress([]Stanza{toCarol}, true)

	tests := []struct {
		name string
		msg  []byte
		want string
	}{
		{"stanza replaced", join(replaced.bytes(), p.payload, p.trailer), classMAC},
		{"stanza added", join(addedTo.bytes(), p.payload, p.trailer), classMAC},
		{"stanza replaced, MAC recomputed", join(remaced.bytes(), p.payload, p.trailer), classPayload},
		{"stanza replaced, MAC recomputed, payload sealed again", join(remaced.bytes(), sealPayload(t, key, remaced, plain), p.trailer), classPayload},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, from := range []*keyblob.Recipient{nil, alice.Recipient()} {
				_, err := openBoth(t, tt.name, tt.msg, func() *OpenOptions {
					return &OpenOptions{Identities: []*keyblob.Identity{carol}, From: from}
				})
				wantClass(t, tt.name, err, tt.want)
			}
		})
	}
}

// TestPaths checks that the streaming path and the file path, and NewWriter
// and Seal, agree on every size around the chunk boundaries.
func TestPaths(t *testing.T) {
	alice, bob := testIdentity(t, "alice-x25519"), testIdentity(t, "bob-x25519")
	sizes := []int{0, 1, stream.ChunkSize - 1, stream.ChunkSize, stream.ChunkSize + 1, 3 * stream.ChunkSize, 3*stream.ChunkSize + 100}
	for _, size := range sizes {
		for _, signed := range []bool{false, true} {
			name := fmt.Sprintf("%d bytes", size)
			if signed {
				name += ", signed"
			}
			t.Run(name, func(t *testing.T) {
				testPaths(t, size, signed, alice, bob)
			})
		}
	}
}

func testPaths(t *testing.T, size int, signed bool, alice, bob *keyblob.Identity) {
	plain := testPlaintext(size, uint64(size))
	opts := &Options{Recipients: recipientsOf(bob), Workers: 2}
	if signed {
		opts.Signer = alice
	}
	viaWriter := sealMsg(t, plain, opts)

	// Seal from a file at an offset, read as a stream or at offsets, to a
	// buffer and to a file at an offset.
	src := tempFile(t, join([]byte("junk"), plain))
	sources := map[string]Source{
		"stream": {R: io.NewSectionReader(src, 4, int64(size))},
		"at":     {At: io.NewSectionReader(src, 4, int64(size)), Size: int64(size)},
	}
	msgs := map[string][]byte{"NewWriter": viaWriter}
	var h *Header
	for name, s := range sources {
		var buf bytes.Buffer
		var err error
		if h, err = Seal(Sink{W: &buf}, s, opts); err != nil {
			t.Fatal(err)
		}
		msgs["Seal from "+name] = buf.Bytes()
		if s.R != nil {
			s.R = io.NewSectionReader(src, 4, int64(size))
		}
		dst := tempFile(t, []byte("prefix"))
		if _, err := Seal(Sink{At: io.NewOffsetWriter(dst, 6)}, s, opts); err != nil {
			t.Fatal(err)
		}
		onDisk, err := os.ReadFile(dst.Name())
		if err != nil {
			t.Fatal(err)
		}
		msgs["Seal from "+name+" to a file at offsets"] = onDisk[6:]
	}

	want := h.Size() + int(stream.EncryptedSize(int64(size))) + h.SignatureSize()
	for name, msg := range msgs {
		if len(msg) != want {
			t.Errorf("%s wrote %d bytes, want %d", name, len(msg), want)
		}
		checkAllPaths(t, name, msg, plain, func() *OpenOptions {
			return &OpenOptions{Identities: []*keyblob.Identity{bob}, Workers: 3}
		})
	}

	// A message in the middle of a file opens from its offset, as a stream
	// and at offsets.
	f := tempFile(t, join([]byte("junk before"), viaWriter))
	if o, err := OpenAt(io.NewSectionReader(f, 11, int64(len(viaWriter))), int64(len(viaWriter)), &OpenOptions{Identities: []*keyblob.Identity{bob}}); err != nil {
		t.Error(err)
	} else {
		var out bytes.Buffer
		_, err := o.WriteTo(&out)
		wantPlain(t, "at an offset, with OpenAt", out.Bytes(), err, plain)
	}
	if _, err := f.Seek(11, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	o, err := Open(f, &OpenOptions{Identities: []*keyblob.Identity{bob}})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	n, err := o.WriteTo(&out)
	wantPlain(t, "at an offset", out.Bytes(), err, plain)
	if n != int64(size) {
		t.Errorf("WriteTo returned %d, want %d", n, size)
	}

	// Every path fails the same way on the same damage.
	p := split(t, viaWriter)
	chunks := chunksOf(p.payload)
	damaged := map[string][]byte{
		"first payload byte flipped": flipped(viaWriter, p.h.Size(), 0),
		"last byte flipped":          flipped(viaWriter, len(viaWriter)-1, 7),
		"one byte short":             viaWriter[:len(viaWriter)-1],
		"one byte more":              join(viaWriter, []byte{0}),
		"trailer only":               join(p.header, p.trailer),
		"header only":                p.header,
	}
	if len(chunks) > 1 {
		damaged["last chunk dropped"] = join(p.header, p.payload[:len(p.payload)-len(chunks[len(chunks)-1])], p.trailer)
		damaged["first chunk dropped"] = join(p.header, p.payload[len(chunks[0]):], p.trailer)
	}
	for name, msg := range damaged {
		checkAllPathsFail(t, name, msg, plain, classPayload, func() *OpenOptions {
			return &OpenOptions{Identities: []*keyblob.Identity{bob}, Workers: 3}
		})
	}
}

// flipped returns a copy of msg with bit b of byte i flipped.
func flipped(msg []byte, i, b int) []byte {
	out := bytes.Clone(msg)
	out[i] ^= 1 << b
	return out
}

// openAllPaths opens a binary message every way there is.
func openAllPaths(t testing.TB, msg []byte, opts func() *OpenOptions) map[string]struct {
	out []byte
	err error
} {
	t.Helper()
	res := map[string]struct {
		out []byte
		err error
	}{}
	add := func(name string, out []byte, err error) {
		res[name] = struct {
			out []byte
			err error
		}{out, err}
	}
	out, err := openStream(msg, opts())
	add("Reader from a bytes.Reader", out, err)
	out, err = openFile(t, msg, opts(), false)
	add("WriteTo a buffer from a file", out, err)
	out, err = openFile(t, msg, opts(), true)
	add("WriteTo a file from a file", out, err)

	o, err := Open(tempFile(t, msg), opts())
	if err == nil {
		out, err = io.ReadAll(o.Reader())
	}
	add("Reader from a file", out, err)
	o, err = Open(bytes.NewReader(msg), opts())
	if err == nil {
		var buf bytes.Buffer
		_, err = o.WriteTo(&buf)
		out = buf.Bytes()
	}
	add("WriteTo a buffer from a bytes.Reader", out, err)
	return res
}

func checkAllPaths(t *testing.T, what string, msg, plain []byte, opts func() *OpenOptions) {
	t.Helper()
	for path, r := range openAllPaths(t, msg, opts) {
		wantPlain(t, what+": "+path, r.out, r.err, plain)
	}
}

func checkAllPathsFail(t *testing.T, what string, msg, plain []byte, want string, opts func() *OpenOptions) {
	t.Helper()
	for path, r := range openAllPaths(t, msg, opts) {
		wantClass(t, what+": "+path, r.err, want)
		if bad := unauthenticated(r.out, plain, path == "WriteTo a file from a file"); bad != "" {
			t.Errorf("%s: %s: %s", what, path, bad)
		}
	}
}

// unauthenticated describes how out, what a failed open released, is more
// than authenticated chunks of plain, or returns "". Released output must
// be a prefix of plain made of whole chunks, or all of plain (a signed
// message whose signature fails at EOF). With holes, written by WriteTo at
// offsets to a file, each chunk must be plain's or never written (zeros).
func unauthenticated(out, plain []byte, holes bool) string {
	if len(out) > len(plain) {
		return fmt.Sprintf("released %d bytes, more than the %d of the plaintext", len(out), len(plain))
	}
	if holes {
		for off := 0; off < len(out); off += stream.ChunkSize {
			got := out[off:min(off+stream.ChunkSize, len(out))]
			if !bytes.Equal(got, plain[off:off+len(got)]) && len(bytes.Trim(got, "\x00")) != 0 {
				return fmt.Sprintf("the chunk at %d is not the plaintext's", off)
			}
		}
		return ""
	}
	if len(out)%stream.ChunkSize != 0 && len(out) != len(plain) {
		return fmt.Sprintf("released %d bytes, not whole chunks", len(out))
	}
	if !bytes.Equal(out, plain[:len(out)]) {
		return fmt.Sprintf("released %d bytes that are not the plaintext's", len(out))
	}
	return ""
}

func TestPassphrase(t *testing.T) {
	pass := []byte("correct horse battery staple")
	plain := testPlaintext(70000, 6)
	opts := &Options{Passphrase: pass, Params: &cheapParams, Time: testTime}
	msg := sealMsg(t, plain, opts)
	withPass := func(p []byte) func() *OpenOptions {
		return func() *OpenOptions {
			return &OpenOptions{Passphrase: func() ([]byte, error) { return p, nil }}
		}
	}

	t.Run("round trip", func(t *testing.T) {
		h := split(t, msg).h
		if !h.Passphrase() || len(h.Stanzas()) != 1 {
			t.Fatalf("the header has %d stanzas, passphrase %v", len(h.Stanzas()), h.Passphrase())
		}
		if got := h.Stanzas()[0].pass.params; got.Time != 1 || got.MemoryKiB != 8<<10 || got.Threads != 1 {
			t.Errorf("the stanza records %+v, not the params given", got)
		}
		got, err := openBoth(t, "passphrase", msg, withPass(pass))
		wantPlain(t, "passphrase", got, err, plain)
	})
	t.Run("wrong passphrase", func(t *testing.T) {
		_, err := openBoth(t, "wrong passphrase", msg, withPass([]byte("Tr0ub4dor&3")))
		if !errors.Is(err, ErrPassphrase) {
			t.Errorf("got %v, want ErrPassphrase", err)
		}
	})
	t.Run("no passphrase given", func(t *testing.T) {
		_, err := openStream(msg, &OpenOptions{Identities: identities(t, "bob-x25519")})
		if !errors.Is(err, ErrNoMatch) || !strings.Contains(err.Error(), "passphrase") {
			t.Errorf("got %v, want ErrNoMatch naming the passphrase", err)
		}
	})
	t.Run("callback error", func(t *testing.T) {
		boom := errors.New("no terminal")
		_, err := openStream(msg, &OpenOptions{Passphrase: func() ([]byte, error) { return nil, boom }})
		if !errors.Is(err, boom) {
			t.Errorf("got %v, want the callback's error", err)
		}
	})
	t.Run("new salt every message", func(t *testing.T) {
		again := split(t, sealMsg(t, plain, opts)).h.Stanzas()[0].pass
		first := split(t, msg).h.Stanzas()[0].pass
		if first.params.Salt == again.params.Salt {
			t.Error("two messages with the same passphrase have the same salt")
		}
		if bytes.Equal(first.wrapped, again.wrapped) {
			t.Error("two messages have the same wrapped key")
		}
	})
	t.Run("identity message with a passphrase", func(t *testing.T) {
		m := sealMsg(t, plain, &Options{Recipients: recipientsOf(testIdentity(t, "bob-x25519"))})
		_, err := openStream(m, withPass(pass)())
		wantClass(t, "identity message", err, classNoMatch)
	})

	// Absurd parameters are refused when the header is read: no Argon2id
	// work, no passphrase asked for, even with a valid MAC.
	absurd := []struct {
		name    string
		time    uint32
		memory  uint32
		threads uint8
	}{
		{"memory 2 GiB, time 1000", 1000, 2 << 20, 1},
		{"memory 2 GiB", 1, 2 << 20, 1},
		{"time 1000", 1000, 8 << 10, 1},
		{"memory 4 GiB - 1 KiB, time 2^32-1", 1<<32 - 1, 1<<32 - 1, 255},
		{"memory under 8 MiB", 1, 8<<10 - 1, 1},
		{"time 0", 0, 8 << 10, 1},
		{"threads 0", 1, 8 << 10, 0},
		{"threads 17", 1, 8 << 10, 17},
	}
	for _, tt := range absurd {
		t.Run("params "+tt.name, func(t *testing.T) {
			key := keyblob.NewSessionKey()
			prefix := prefixOf(t, testTime, time.Time{}, key.Serial(), nil)
			m := assemble(t, key, prefix, []Stanza{{typ: StanzaPassphrase, body: passBody(tt.time, tt.memory, tt.threads)}}, plain[:100], nil)
			asked := false
			start := time.Now()
			_, err := openStream(m, &OpenOptions{Passphrase: func() ([]byte, error) { asked = true; return pass, nil }})
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("refusing took %v", d)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("got %v, want ErrMalformed", err)
			}
			if asked {
				t.Error("the passphrase was asked for")
			}
		})
	}

	// A passphrase stanza must be the only stanza.
	key := keyblob.NewSessionKey()
	prefix := prefixOf(t, testTime, time.Time{}, key.Serial(), nil)
	ps := passphraseStanza(t, key, pass, cheapParams, prefix)
	bs := blobStanza(t, key, testIdentity(t, "bob-x25519").Recipient(), testTime)
	unknown := Stanza{typ: 0x7f, body: []byte("x")}
	mixed := []struct {
		name    string
		stanzas []Stanza
	}{
		{"passphrase then recipient", []Stanza{ps, bs}},
		{"recipient then passphrase", []Stanza{bs, ps}},
		{"two passphrases", []Stanza{ps, ps}},
		{"passphrase and unknown", []Stanza{ps, unknown}},
	}
	for _, tt := range mixed {
		t.Run(tt.name, func(t *testing.T) {
			m := assemble(t, key, prefix, tt.stanzas, plain[:100], nil)
			for _, o := range []*OpenOptions{withPass(pass)(), {Identities: identities(t, "bob-x25519")}} {
				_, err := openStream(m, o)
				if !errors.Is(err, ErrMalformed) {
					t.Errorf("got %v, want ErrMalformed", err)
				}
			}
		})
	}
	t.Run("assembled control", func(t *testing.T) {
		// The same pieces alone make a message that opens: the failures
		// above are the mixing.
		got, err := openStream(assemble(t, key, prefix, []Stanza{ps}, plain[:100], nil), withPass(pass)())
		wantPlain(t, "control", got, err, plain[:100])
	})
}

func TestSessionKey(t *testing.T) {
	bob := testIdentity(t, "bob-x25519")
	plain := testPlaintext(100000, 7)
	msg := sealMsg(t, plain, &Options{Recipients: recipientsOf(bob), Signer: testIdentity(t, "alice-x25519")})
	key := sessionKeyOf(t, msg, bob)
	if key.Serial() != split(t, msg).h.Serial() {
		t.Fatal("the session key's serial is not the message's")
	}
	file, err := keyblob.ParseSessionKey(key.MarshalPEM())
	if err != nil {
		t.Fatal(err)
	}
	withKey := func(k *keyblob.SessionKey) func() *OpenOptions {
		return func() *OpenOptions { return &OpenOptions{SessionKey: k} }
	}
	t.Run("opens", func(t *testing.T) {
		checkAllPaths(t, "session key", msg, plain, withKey(file))
	})
	t.Run("wrong serial", func(t *testing.T) {
		other := sessionKeyOf(t, sealMsg(t, plain, &Options{Recipients: recipientsOf(bob)}), bob)
		_, err := openBoth(t, "wrong serial", msg, withKey(other))
		wantClass(t, "wrong serial", err, classNoMatch)
	})
	t.Run("right serial, wrong key", func(t *testing.T) {
		wrong, err := keyblob.NewSessionKeyFrom(key.Serial(), make([]byte, keyblob.SessionKeySize))
		if err != nil {
			t.Fatal(err)
		}
		_, err = openBoth(t, "wrong key", msg, withKey(wrong))
		wantClass(t, "wrong key", err, classMAC)
	})
	t.Run("passphrase message", func(t *testing.T) {
		pass := []byte("pw")
		m := sealMsg(t, plain[:10], &Options{Passphrase: pass, Params: &cheapParams})
		o, err := Open(bytes.NewReader(m), &OpenOptions{Passphrase: func() ([]byte, error) { return pass, nil }})
		if err != nil {
			t.Fatal(err)
		}
		got, err := openStream(m, &OpenOptions{SessionKey: o.SessionKey()})
		wantPlain(t, "passphrase message by its session key", got, err, plain[:10])
	})
}

func TestExpiry(t *testing.T) {
	bob := testIdentity(t, "bob-x25519")
	plain := []byte("until the end of the hour")
	msg := sealMsg(t, plain, &Options{Recipients: recipientsOf(bob), Time: testTime, Expires: testTime.Add(time.Hour)})
	at := func(now time.Time, maxAge time.Duration) func() *OpenOptions {
		return func() *OpenOptions {
			return &OpenOptions{Identities: []*keyblob.Identity{bob}, Now: func() time.Time { return now }, MaxAge: maxAge}
		}
	}
	tests := []struct {
		name   string
		now    time.Time
		maxAge time.Duration
		want   string
	}{
		{"before expiry", testTime.Add(59 * time.Minute), 0, classSuccess},
		{"at expiry", testTime.Add(time.Hour), 0, "expired"},
		{"after expiry", testTime.Add(2 * time.Hour), 0, "expired"},
		{"young enough", testTime.Add(30 * time.Minute), 45 * time.Minute, classSuccess},
		{"too old", testTime.Add(50 * time.Minute), 45 * time.Minute, "too old"},
		{"in the future within the skew", testTime.Add(-4 * time.Minute), time.Hour, classSuccess},
		{"in the future beyond the skew", testTime.Add(-6 * time.Minute), time.Hour, "future"},
		{"in the future, no max age", testTime.Add(-24 * time.Hour), 0, classSuccess},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := openBoth(t, tt.name, msg, at(tt.now, tt.maxAge))
			wantClass(t, tt.name, err, tt.want)
			if err == nil && !bytes.Equal(got, plain) {
				t.Error("wrong plaintext")
			}
		})
	}
	t.Run("times are not trusted before the MAC", func(t *testing.T) {
		bad := flipped(msg, split(t, msg).h.Size()-1, 0)
		_, err := openStream(bad, at(testTime.Add(2*time.Hour), time.Minute)())
		wantClass(t, "expired with a bad MAC", err, classMAC)
	})
}

func TestReplay(t *testing.T) {
	alice, bob := testIdentity(t, "alice-x25519"), testIdentity(t, "bob-x25519")
	path := filepath.Join(t.TempDir(), "replay", "cache.db")
	cache, err := sqlitecache.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cache.Close() }()
	opts := func() *OpenOptions {
		return &OpenOptions{Identities: []*keyblob.Identity{bob}, Cache: cache}
	}
	plain := testPlaintext(70000, 8)

	for _, signer := range []*keyblob.Identity{alice, nil} {
		name := "unsigned"
		if signer != nil {
			name = "signed"
		}
		t.Run(name, func(t *testing.T) {
			msg := sealMsg(t, plain, &Options{Recipients: recipientsOf(bob), Signer: signer})
			p := split(t, msg)

			// Damaged copies fail and record nothing.
			for _, bad := range [][]byte{
				flipped(msg, p.h.Size()+10, 1),
				flipped(msg, len(msg)-1, 1),
				msg[:len(msg)-1],
				join(msg, []byte("x")),
			} {
				_, err := openStream(bad, opts())
				wantClass(t, "damaged", err, classPayload)
				_, err = openFile(t, bad, opts(), false)
				wantClass(t, "damaged, file path", err, classPayload)
			}
			// Opening the header and abandoning the payload records nothing.
			if _, err := Open(bytes.NewReader(msg), opts()); err != nil {
				t.Fatal(err)
			}
			// Two openers pass Open; only the first to finish is accepted.
			o1, err := Open(bytes.NewReader(msg), opts())
			if err != nil {
				t.Fatal(err)
			}
			o2, err := Open(tempFile(t, msg), opts())
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(o1.Reader())
			wantPlain(t, "first open", got, err, plain)
			_, err = o2.WriteTo(io.Discard)
			wantClass(t, "concurrent second open", err, "replay")

			_, err = openStream(msg, opts())
			wantClass(t, "second open", err, "replay")
			_, err = openFile(t, msg, opts(), true)
			wantClass(t, "second open, file path", err, "replay")
		})
	}
	t.Run("after reopening the cache", func(t *testing.T) {
		msg := sealMsg(t, plain[:10], &Options{Recipients: recipientsOf(bob), Signer: alice})
		got, err := openStream(msg, opts())
		wantPlain(t, "first open", got, err, plain[:10])
		if err := cache.Close(); err != nil {
			t.Fatal(err)
		}
		if cache, err = sqlitecache.Open(path); err != nil {
			t.Fatal(err)
		}
		_, err = openStream(msg, opts())
		wantClass(t, "after reopening", err, "replay")
	})
	t.Run("without a cache", func(t *testing.T) {
		msg := sealMsg(t, plain[:10], &Options{Recipients: recipientsOf(bob)})
		for range 3 {
			got, err := openStream(msg, &OpenOptions{Identities: []*keyblob.Identity{bob}})
			wantPlain(t, "open", got, err, plain[:10])
		}
	})
}

const base64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// TestUnknownStanza: stanzas of unknown types are skipped but covered by
// the MAC and the signature.
func TestUnknownStanza(t *testing.T) {
	alice, bob, mallory := testIdentity(t, "alice-x25519"), testIdentity(t, "bob-x25519"), testIdentity(t, "mallory-x25519")
	plain := testPlaintext(1234, 10)
	for _, signer := range []*keyblob.Identity{nil, alice} {
		key := keyblob.NewSessionKey()
		prefix := prefixOf(t, testTime, time.Time{}, key.Serial(), signer)
		stanzas := []Stanza{
			{typ: 0x7f, body: []byte("a recipient kind of a later version")},
			blobStanza(t, key, bob.Recipient(), testTime),
			{typ: 0x80},
		}
		msg := assemble(t, key, prefix, stanzas, plain, signer)
		name := "unsigned"
		if signer != nil {
			name = "signed"
		}
		t.Run(name, func(t *testing.T) {
			got, err := openBoth(t, "bob", msg, func() *OpenOptions {
				return &OpenOptions{Identities: []*keyblob.Identity{bob}}
			})
			wantPlain(t, "bob", got, err, plain)
			o, err := Open(bytes.NewReader(msg), &OpenOptions{Identities: []*keyblob.Identity{bob}})
			if err != nil {
				t.Fatal(err)
			}
			if types := []byte{o.Header().Stanzas()[0].Type(), o.Header().Stanzas()[1].Type(), o.Header().Stanzas()[2].Type()}; !bytes.Equal(types, []byte{0x7f, 1, 0x80}) {
				t.Errorf("stanza types %x", types)
			}
			_, err = openStream(msg, &OpenOptions{Identities: []*keyblob.Identity{mallory}})
			if !errors.Is(err, ErrNoMatch) || !strings.Contains(err.Error(), "unknown stanza type 0x7f") {
				t.Errorf("mallory: got %v, want ErrNoMatch listing the unknown stanza", err)
			}
			// Changing the unknown stanza breaks the MAC.
			h := editedHeader(t, split(t, msg).h, func(f *headerFields) {
				f.Stanzas[0].body = []byte("a recipient kind of a later version!")
			})
			p := split(t, msg)
			_, err = openStream(join(h.bytes(), p.payload, p.trailer), &OpenOptions{Identities: []*keyblob.Identity{bob}})
			wantClass(t, "unknown stanza changed", err, classMAC)
		})
	}
	t.Run("only unknown stanzas", func(t *testing.T) {
		key := keyblob.NewSessionKey()
		msg := assemble(t, key, prefixOf(t, testTime, time.Time{}, key.Serial(), nil), []Stanza{{typ: 0x7f}}, plain, nil)
		_, err := openStream(msg, &OpenOptions{Identities: []*keyblob.Identity{bob}})
		wantClass(t, "only unknown", err, classNoMatch)
		got, err := openStream(msg, &OpenOptions{SessionKey: key})
		wantPlain(t, "by the session key", got, err, plain)
	})
}

// TestHeaderRules crafts headers that break one rule each, with a valid MAC.
func TestHeaderRules(t *testing.T) {
	alice, bob := testIdentity(t, "alice-x25519"), testIdentity(t, "bob-x25519")
	plain := []byte("rules")
	key := keyblob.NewSessionKey()
	prefix := prefixOf(t, testTime, time.Time{}, key.Serial(), nil)
	bs := blobStanza(t, key, bob.Recipient(), testTime)
	unknown := func(n, size int) []Stanza {
		s := make([]Stanza, n)
		for i := range s {
			s[i] = Stanza{typ: 0x7f, body: make([]byte, size)}
		}
		return s
	}
	signedPrefix := prefixOf(t, testTime, time.Time{}, key.Serial(), alice)
	keyLen := len(alice.Recipient().SigningKeyBytes())
	sigLenAt := len(signedPrefix) - 2
	withByte := func(b []byte, i int, v byte) []byte {
		out := bytes.Clone(b)
		out[i] = v
		return out
	}
	otherCreated := blobStanza(t, key, bob.Recipient(), testTime.Add(time.Second))
	described, err := keyblob.Export(key, bob.Recipient(), &keyblob.ExportOptions{Time: testTime, Description: "x"})
	if err != nil {
		t.Fatal(err)
	}
	signedBlob, err := keyblob.Export(key, bob.Recipient(), &keyblob.ExportOptions{Time: testTime, Signer: alice})
	if err != nil {
		t.Fatal(err)
	}
	otherSerial := blobStanza(t, keyblob.NewSessionKey(), bob.Recipient(), testTime)

	tests := []struct {
		name    string
		prefix  []byte
		stanzas []Stanza
		signer  *keyblob.Identity
		want    string
	}{
		{"control", prefix, []Stanza{bs}, nil, classSuccess},
		{"control, signed", signedPrefix, []Stanza{bs}, alice, classSuccess},
		{"1024 stanzas", prefix, append(unknown(1023, 0), bs), nil, classSuccess},
		{"1025 stanzas", prefix, append(unknown(1024, 0), bs), nil, classHeader},
		{"no stanza", prefix, nil, nil, classHeader},
		{"stanza of 16 KiB", prefix, append(unknown(1, 16<<10), bs), nil, classSuccess},
		{"stanza over 16 KiB", prefix, append(unknown(1, 16<<10+1), bs), nil, classHeader},
		{"header just under 2 MiB", prefix, append(unknown(127, 16<<10), bs), nil, classSuccess},
		{"header over 2 MiB", prefix, append(unknown(128, 16<<10), bs), nil, classHeader},
		{"expiry at creation", prefixOf(t, testTime, testTime, key.Serial(), nil), []Stanza{bs}, nil, classHeader},
		{"expiry before creation", prefixOf(t, testTime, testTime.Add(-time.Second), key.Serial(), nil), []Stanza{bs}, nil, classHeader},
		{"created over 2^63-1", withByte(prefix, 6, 0x80), []Stanza{bs}, nil, classHeader},
		{"expires over 2^63-1", withByte(prefix, 14, 0x80), []Stanza{bs}, nil, classHeader},
		{"version 2", withByte(prefix, 5, 2), []Stanza{bs}, nil, classHeader},
		{"type key blob", withByte(prefix, 4, 'b'), []Stanza{bs}, nil, classHeader},
		{"unknown signature algorithm", withByte(signedPrefix, 38, 3), []Stanza{bs}, alice, classHeader},
		{"RSA algorithm, Ed25519 key", withByte(signedPrefix, 38, 2), []Stanza{bs}, alice, classHeader},
		{"sig-len 65", withByte(signedPrefix, sigLenAt+1, 65), []Stanza{bs}, alice, classHeader},
		{"sig-len 0", withByte(signedPrefix, sigLenAt+1, 0), []Stanza{bs}, alice, classHeader},
		{"signer key of 31 bytes", join(signedPrefix[:39], []byte{0, 31}, signedPrefix[41:41+31], signedPrefix[sigLenAt:]), []Stanza{bs}, alice, classHeader},
		{"signer key of 2000 bytes", join(signedPrefix[:39], []byte{0x07, 0xd0}, make([]byte, 2000), signedPrefix[sigLenAt:]), []Stanza{bs}, alice, classHeader},
		{"stanza created differs", prefix, []Stanza{otherCreated}, nil, classHeader},
		{"stanza serial differs", prefix, []Stanza{otherSerial}, nil, classHeader},
		{"stanza with a description", prefix, []Stanza{{typ: StanzaBlob, body: described.Marshal()}}, nil, classHeader},
		{"stanza signed", prefix, []Stanza{{typ: StanzaBlob, body: signedBlob.Marshal()}}, nil, classHeader},
		{"stanza armored", prefix, []Stanza{{typ: StanzaBlob, body: bs.Blob().MarshalPEM()}}, nil, classHeader},
		{"stanza with a trailing byte", prefix, []Stanza{{typ: StanzaBlob, body: join(bs.Body(), []byte{0})}}, nil, classHeader},
		{"stanza truncated", prefix, []Stanza{{typ: StanzaBlob, body: bs.Body()[:len(bs.Body())-1]}}, nil, classHeader},
		{"empty recipient stanza", prefix, []Stanza{{typ: StanzaBlob}}, nil, classHeader},
		{"passphrase stanza too short", prefix, []Stanza{{typ: StanzaPassphrase, body: passBody(1, 8<<10, 1)[:72]}}, nil, classHeader},
	}
	if keyLen != 32 {
		t.Fatalf("Ed25519 key of %d bytes", keyLen)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := assemble(t, key, tt.prefix, tt.stanzas, plain, tt.signer)
			got, err := openBoth(t, tt.name, msg, func() *OpenOptions {
				return &OpenOptions{Identities: []*keyblob.Identity{bob}}
			})
			wantClass(t, tt.name, err, tt.want)
			if err == nil && !bytes.Equal(got, plain) {
				t.Error("wrong plaintext")
			}
			if _, err := ReadHeader(bytes.NewReader(msg)); (err == nil) != (tt.want == classSuccess) {
				t.Errorf("ReadHeader: %v", err)
			}
		})
	}
	t.Run("truncated headers", func(t *testing.T) {
		msg := assemble(t, key, signedPrefix, []Stanza{bs}, plain, alice)
		size := split(t, msg).h.Size()
		for n := range size {
			_, err := ReadHeader(bytes.NewReader(msg[:n]))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("header cut at %d of %d: got %v, want ErrMalformed", n, size, err)
			}
		}
	})
}

// TestWriterMisc covers the Writer's small contracts.
func TestWriterMisc(t *testing.T) {
	bob := testIdentity(t, "bob-x25519")
	var buf bytes.Buffer
	w, err := NewWriter(&buf, &Options{Recipients: recipientsOf(bob)})
	if err != nil {
		t.Fatal(err)
	}
	if w.Header() == nil || w.Header().Size() != buf.Len() {
		t.Error("the header is not written at once")
	}
	if _, err := w.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := w.Write([]byte("y")); err == nil {
		t.Error("Write after Close succeeded")
	}
	got, err := openStream(buf.Bytes(), &OpenOptions{Identities: []*keyblob.Identity{bob}})
	wantPlain(t, "after a second Close", got, err, []byte("x"))
}
