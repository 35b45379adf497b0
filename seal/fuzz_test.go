package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/stream"
)

// fuzzMessages returns the messages of the test vectors (binary, decoded
// from their armor when it decodes) and their armored forms, for seeds.
func fuzzMessages(f *testing.F, maxSize int) (binaries, armored [][]byte) {
	for _, path := range sealedVectorFiles(f) {
		v := readSealedVector(f, path)
		if len(v.body) > maxSize {
			continue
		}
		if v.binary {
			binaries = append(binaries, v.body)
			continue
		}
		armored = append(armored, v.body)
		if bin, err := io.ReadAll(NewArmorReader(bytes.NewReader(v.body))); err == nil {
			binaries = append(binaries, bin)
		}
	}
	return binaries, armored
}

func FuzzReadHeader(f *testing.F) {
	binaries, _ := fuzzMessages(f, 1<<20)
	for _, b := range binaries {
		f.Add(b[:min(len(b), 20<<10)])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ReadHeader(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ReadHeader error is not ErrMalformed: %v", err)
			}
			if h != nil {
				t.Fatal("ReadHeader returned a header with an error")
			}
			return
		}
		if h.Size() > len(data) || h.Size() > maxHeaderSize || !bytes.Equal(h.bytes(), data[:h.Size()]) {
			t.Fatalf("the header of %d bytes is not the input's first bytes", h.Size())
		}
		// Encoding the values the accessors return again gives the same
		// bytes: every accepted header is canonical, and its accessors
		// agree with what the MAC covers.
		f := headerFields{Created: h.Created(), Expires: h.Expires(), Serial: h.Serial(), Signer: h.Signer(),
			SigLen: h.SignatureSize(), Stanzas: h.Stanzas(), Nonce: h.Nonce()}
		prefix, err := f.encodePrefix()
		if err != nil {
			t.Fatal(err)
		}
		re, err := encodeHeader(f, prefix)
		if err != nil {
			t.Fatal(err)
		}
		re.mac = h.MAC()
		if !bytes.Equal(re.bytes(), h.bytes()) {
			t.Fatalf("the header re-encodes differently:\n%x\n%x", re.bytes(), h.bytes())
		}
		if re.prefixLen != h.prefixLen {
			t.Fatalf("prefix of %d bytes, re-encoded %d", h.prefixLen, re.prefixLen)
		}
		// The rules of spec/sealed.md hold for what was accepted.
		switch {
		case len(h.Stanzas()) < 1 || len(h.Stanzas()) > MaxStanzas:
			t.Fatalf("%d stanzas", len(h.Stanzas()))
		case !h.Expires().IsZero() && !h.Expires().After(h.Created()):
			t.Fatal("expiry not after creation")
		case h.Signed() && h.SignatureSize() != h.Signer().SignatureSize():
			t.Fatalf("sig-len %d for a key whose signatures have %d bytes", h.SignatureSize(), h.Signer().SignatureSize())
		case !h.Signed() && h.SignatureSize() != 0:
			t.Fatalf("sig-len %d unsigned", h.SignatureSize())
		case h.f.hasPassphrase() && len(h.Stanzas()) != 1:
			t.Fatal("a passphrase stanza with others")
		}
		for _, s := range h.Stanzas() {
			switch s.Type() {
			case StanzaBlob:
				b := s.Blob()
				if b == nil || !bytes.Equal(b.Marshal(), s.Body()) || b.Signed() || b.Description() != "" ||
					b.Serial() != h.Serial() || !b.Created().Equal(h.Created()) || b.SessionAlg() != keyblob.SessionAES256GCM {
					t.Fatal("a recipient stanza breaks its rules")
				}
			case StanzaPassphrase:
				if s.pass == nil || !bytes.Equal(s.pass.encode(), s.Body()) || s.pass.params.Check() != nil {
					t.Fatal("a passphrase stanza breaks its rules")
				}
			}
		}
	})
}

// fuzzIdentity is the identity FuzzOpen opens with: bob's X25519 key of
// the test vectors, so that seeds from the vectors open.
func fuzzIdentity(f *testing.F) *keyblob.Identity {
	data, err := os.ReadFile(filepath.Join(sealedKeysDir, "bob-x25519.key"))
	if err != nil {
		f.Fatal(err)
	}
	id, err := keyblob.ParseIdentity(data)
	if err != nil {
		f.Fatal(err)
	}
	return id
}

func FuzzOpen(f *testing.F) {
	id := fuzzIdentity(f)
	binaries, armored := fuzzMessages(f, 70<<10)
	for _, m := range append(binaries, armored...) {
		f.Add(m)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := func() *OpenOptions { return &OpenOptions{Identities: []*keyblob.Identity{id}, Workers: 1} }
		plain, err := openStream(data, opts())
		class := errorClass(err)
		if strings.HasPrefix(class, "unexpected error") {
			t.Fatalf("streaming path: %s", class)
		}
		if err == nil {
			want, why := openIndependently(data, id)
			if why != "" {
				t.Fatalf("a message was accepted that an independent check refuses: %s", why)
			}
			if !bytes.Equal(plain, want) {
				t.Fatal("the plaintext differs from the independent check's")
			}
		}
		if IsArmored(data) {
			return
		}
		// The file path agrees.
		file, ferr := os.CreateTemp(dir, "open")
		if ferr != nil {
			t.Fatal(ferr)
		}
		defer os.Remove(file.Name())
		defer file.Close()
		if _, ferr := file.Write(data); ferr != nil {
			t.Fatal(ferr)
		}
		file.Seek(0, io.SeekStart)
		var out bytes.Buffer
		o, err2 := Open(file, opts())
		if err2 == nil {
			_, err2 = o.WriteTo(&out)
		}
		if c2 := errorClass(err2); c2 != class {
			t.Fatalf("the streaming path gives %s (%v), the file path %s (%v)", class, err, c2, err2)
		}
		if err == nil && !bytes.Equal(out.Bytes(), plain) {
			t.Fatal("the paths give different plaintexts")
		}
	})
}

// pemUnarmor decodes armor as spec/sealed.md section 4 says, with
// encoding/pem: SP, HT, CR and LF around the block are trimmed, CR LF
// becomes LF, and what remains plus one LF must be the canonical block.
func pemUnarmor(data []byte) ([]byte, bool) {
	norm := bytes.Trim(data, " \t\r\n")
	norm = append(bytes.ReplaceAll(norm, []byte("\r\n"), []byte("\n")), '\n')
	block, _ := pem.Decode(norm)
	if block == nil || block.Type != "KEYBLOB SEALED MESSAGE" || len(block.Bytes) == 0 {
		return nil, false
	}
	return block.Bytes, bytes.Equal(pem.EncodeToMemory(&pem.Block{Type: block.Type, Bytes: block.Bytes}), norm)
}

// openIndependently opens a message the long way, from spec/sealed.md,
// sharing no code with the package but key blob parsing and unwrapping. It returns the plaintext, or why the message is not valid.
func openIndependently(data []byte, id *keyblob.Identity) ([]byte, string) {
	if bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("-----BEGIN ")) {
		bin, ok := pemUnarmor(data)
		if !ok {
			return nil, "armor"
		}
		data = bin
	}
	s := cryptobyte.String(data)
	var magic, serial, signerKey, nonce, mac []byte
	var created, expires uint64
	var sigAlg uint8
	var sigLen, count uint16
	if !s.ReadBytes(&magic, 6) || string(magic) != "kblbs\x01" ||
		!s.ReadUint64(&created) || !s.ReadUint64(&expires) || !s.ReadBytes(&serial, 16) || !s.ReadUint8(&sigAlg) {
		return nil, "prefix"
	}
	if created > math.MaxInt64 || expires > math.MaxInt64 || (expires != 0 && expires <= created) {
		return nil, "times"
	}
	var signer *keyblob.Recipient
	if sigAlg != 0 {
		var k cryptobyte.String
		if !s.ReadUint16LengthPrefixed(&k) || len(k) > 1024 || !s.ReadUint16(&sigLen) {
			return nil, "signer"
		}
		signerKey = k
		var err error
		if signer, err = keyblob.ParseSigningKey(keyblob.SignatureAlg(sigAlg), signerKey); err != nil || int(sigLen) != signer.SignatureSize() {
			return nil, "signer key"
		}
	}
	if !s.ReadUint16(&count) || count < 1 || count > 1024 {
		return nil, "count"
	}
	var key *keyblob.SessionKey
	passphrase := false
	for range count {
		var typ uint8
		var body cryptobyte.String
		if !s.ReadUint8(&typ) || !s.ReadUint16LengthPrefixed(&body) || len(body) > 16<<10 {
			return nil, "stanza"
		}
		switch typ {
		case 1:
			if !bytes.HasPrefix(body, []byte("kblbb\x01")) {
				return nil, "stanza blob prefix"
			}
			b, err := keyblob.ParseKeyBlob(body)
			if err != nil || b.Signed() || b.Description() != "" || b.Serial() != keyblob.Serial(serial) ||
				uint64(b.Created().Unix()) != created || b.SessionAlg() != keyblob.SessionAES256GCM {
				return nil, "stanza blob"
			}
			if key == nil && b.Recipient() == id.Recipient().ExchangeFingerprint() {
				if key, err = keyblob.Import(b, id, nil); err != nil {
					return nil, "unwrap"
				}
			}
		case 2:
			passphrase = true
		}
	}
	if passphrase {
		return nil, "passphrase stanza (this check has no passphrase)"
	}
	if key == nil {
		return nil, "no stanza for the identity"
	}
	if !s.ReadBytes(&nonce, 16) || !s.ReadBytes(&mac, 32) {
		return nil, "nonce and MAC"
	}
	headerLen := len(data) - len(s)
	macKey, _ := hkdf.Key(sha256.New, key.Bytes(), nil, "keyblob/v1 sealed header mac", 32)
	m := hmac.New(sha256.New, macKey)
	m.Write(data[:headerLen-32])
	if !hmac.Equal(m.Sum(nil), mac) {
		return nil, "MAC"
	}
	if expires != 0 && !time.Now().Before(time.Unix(int64(expires), 0)) {
		return nil, "expired"
	}
	payloadKey, _ := hkdf.Key(sha256.New, key.Bytes(), nonce, "keyblob/v1 sealed payload"+string(mac), 32)
	block, err := aes.NewCipher(payloadKey)
	if err != nil {
		return nil, err.Error()
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err.Error()
	}
	if len(s) < int(sigLen) {
		return nil, "no room for the signature"
	}
	payload, trailer := []byte(s[:len(s)-int(sigLen)]), []byte(s[len(s)-int(sigLen):])
	digest := sha256.New()
	digest.Write([]byte("keyblob/v1 sealed payload digest\x00"))
	var plain []byte
	for i := uint64(0); ; i++ {
		n := min(len(payload), stream.EncChunkSize)
		last := len(payload) <= stream.EncChunkSize
		if n < stream.Overhead || (last && i > 0 && n == stream.Overhead) {
			return nil, "chunk size"
		}
		chunk := payload[:n]
		// The Nonce: the index as 11 bytes, big-endian, and the final flag.
		var chunkNonce [12]byte
		binary.BigEndian.PutUint64(chunkNonce[3:11], i)
		if last {
			chunkNonce[11] = 1
		}
		if plain, err = gcm.Open(plain, chunkNonce[:], chunk, nil); err != nil {
			return nil, "chunk " + err.Error()
		}
		sum := sha256.Sum256(chunk)
		digest.Write(sum[:])
		payload = payload[n:]
		if last {
			break
		}
	}
	if signer != nil {
		if err := signer.Verify("sealed message", append(data[:headerLen:headerLen], digest.Sum(nil)...), trailer); err != nil {
			return nil, "signature"
		}
	}
	return plain, ""
}

// TestOpenIndependently checks FuzzOpen's oracle against the vectors: it
// accepts exactly the vectors for bob's X25519 key that succeed.
func TestOpenIndependently(t *testing.T) {
	n := 0
	for _, path := range sealedVectorFiles(t) {
		v := readSealedVector(t, path)
		if v.headers["identity"] != "bob-x25519.key" {
			continue
		}
		n++
		plain, why := openIndependently(v.body, v.options(t).Identities[0])
		switch expect := v.header(t, "expect"); {
		case expect == classSuccess && why != "":
			t.Errorf("%s: refused: %s", path, why)
		case expect == classSuccess:
			sum := sha256.Sum256(plain)
			if hex.EncodeToString(sum[:]) != v.header(t, "payload sha256") {
				t.Errorf("%s: wrong plaintext", path)
			}
		case why == "":
			t.Errorf("%s: accepted, want %s", path, expect)
		}
	}
	if n < minSealedVectors/2 {
		t.Errorf("only %d vectors for bob-x25519", n)
	}
}
