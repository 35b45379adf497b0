package keyblob

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/keyblob/keyblob/internal/stream"
)

// TestTwoKeyFileAttack performs the "two-key file" attack of the security
// review ("invisible salamanders", partitioning oracles): it builds one
// STREAM chunk that AES-256-GCM opens, authenticated, under the payload keys
// of two session keys with the same serial, to two different plaintexts.
// It shows that the pre-commitment decoder would have accepted that payload
// under both keys, and that Decrypt now refuses the key the header does not
// commit to with ErrAuth, before it reads a single payload byte.
func TestTwoKeyFileAttack(t *testing.T) {
	var serial Serial
	rand.Read(serial[:])
	k1, k2 := sessionKeyWithSerial(t, serial), sessionKeyWithSerial(t, serial)
	h := &EncryptedHeader{SessionAlg: SessionAES256GCM, Serial: serial}
	rand.Read(h.Nonce[:])
	pk1 := h.derive(k1, encryptedInfo, stream.KeySize)
	pk2 := h.derive(k2, encryptedInfo, stream.KeySize)

	// The only chunk is the final one: counter 0, last flag 1.
	nonce := make([]byte, 12)
	nonce[11] = 1

	// C has n blocks, all random except the free block j, which is chosen
	// so that the tags under both keys agree. The tag is linear in block j:
	// T_k(C) = T_k(C with C_j = 0) ⊕ C_j·H_k^e, with e = n+1-j the power of
	// H_k that multiplies block j in GHASH (the length block gets H_k^1).
	// T_1 = T_2 is then one linear equation,
	//   C_j · (H_1^e ⊕ H_2^e) = T_1(C with C_j = 0) ⊕ T_2(C with C_j = 0).
	const n, j = 4, 1
	ct := make([]byte, n*16)
	rand.Read(ct)
	clear(ct[j*16 : (j+1)*16])
	d := gcmTag(pk1, nonce, ct).xor(gcmTag(pk2, nonce, ct))
	e := n + 1 - j
	coef := gcmPow(gcmHashKey(pk1), e).xor(gcmPow(gcmHashKey(pk2), e))
	if coef == (gcmElem{}) {
		t.Fatal("H_1^e = H_2^e: the keys collide (probability 2^-128)")
	}
	free := gcmMul(d, gcmInv(coef))
	copy(ct[j*16:], free[:])
	tag := gcmTag(pk1, nonce, ct)
	if tag != gcmTag(pk2, nonce, ct) {
		t.Fatal("the solved block does not make the two tags agree")
	}
	chunk := append(bytes.Clone(ct), tag[:]...)

	var p1, p2 []byte
	if !t.Run("premise/tag-helper-matches-crypto-cipher", func(t *testing.T) {
		// Seal the plaintext that gives ct under pk1 with crypto/cipher:
		// its output must be ct followed by the tag computed by hand.
		aead := newGCM(t, pk1)
		keystream := aead.Seal(nil, nonce, make([]byte, len(ct)), nil)[:len(ct)]
		pt := make([]byte, len(ct))
		for i := range pt {
			pt[i] = ct[i] ^ keystream[i]
		}
		if got := aead.Seal(nil, nonce, pt, nil); !bytes.Equal(got, chunk) {
			t.Fatalf("crypto/cipher seals\n%x\nthe hand-made GHASH gives\n%x", got, chunk)
		}
	}) {
		return
	}
	if !t.Run("premise/one-chunk-gcm-opens-under-both-payload-keys", func(t *testing.T) {
		var err error
		if p1, err = newGCM(t, pk1).Open(nil, nonce, chunk, nil); err != nil {
			t.Fatalf("crypto/cipher under k1's payload key: %v", err)
		}
		if p2, err = newGCM(t, pk2).Open(nil, nonce, chunk, nil); err != nil {
			t.Fatalf("crypto/cipher under k2's payload key: %v", err)
		}
		if bytes.Equal(p1, p2) {
			t.Fatal("the two keys give the same plaintext")
		}
	}) {
		return
	}
	t.Run("premise/pre-commitment-decoder-accepts-payload-under-both-keys", func(t *testing.T) {
		// Without the commitment check, Decrypt was the payload cipher of
		// the key over the payload: both keys succeed, to two plaintexts.
		for _, c := range []struct {
			name string
			pk   []byte
			want []byte
		}{{"k1", pk1, p1}, {"k2", pk2, p2}} {
			sc, err := stream.NewCipher(c.pk)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(stream.NewReader(sc, bytes.NewReader(chunk), 1))
			if err != nil || !bytes.Equal(got, c.want) {
				t.Errorf("under %s: %x, %v; want %x", c.name, got, err, c.want)
			}
		}
	})

	committedTo := func(k *SessionKey) []byte {
		hk := *h
		hk.commit(k)
		return hk.marshal()
	}
	for _, c := range []struct {
		name   string
		header []byte
		key    *SessionKey
		want   []byte // nil: ErrAuth from Decrypt, nothing read
	}{
		{"file-committed-to-k1/k1-decrypts-to-k1-plaintext", committedTo(k1), k1, p1},
		{"file-committed-to-k1/k2-refused-before-payload", committedTo(k1), k2, nil},
		{"file-committed-to-k2/k1-refused-before-payload", committedTo(k2), k1, nil},
		// The same payload behind k2's commitment opens for k2: the
		// attacker can make two files, one per key, but never one file
		// that both keys open, since a header commits to a single key.
		{"file-committed-to-k2/k2-decrypts-to-k2-plaintext", committedTo(k2), k2, p2},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkDecrypt(t, c.header, chunk, c.key, c.want)
		})
	}
}

// TestCommitmentCheckedBeforeChunks attacks an honest file encrypted with
// Encrypt under k1: it opens it with another key k2 of the same serial, and
// with k1 after flipping a bit of the key commitment (or of the nonce it is
// derived from). Each must fail with ErrAuth from Decrypt itself, before any
// payload byte is read, so no chunk is ever opened under an uncommitted key.
func TestCommitmentCheckedBeforeChunks(t *testing.T) {
	var serial Serial
	rand.Read(serial[:])
	k1, k2 := sessionKeyWithSerial(t, serial), sessionKeyWithSerial(t, serial)
	pt := []byte("attack at dawn")
	var buf bytes.Buffer
	w, err := Encrypt(&buf, k1, &EncryptOptions{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(pt); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	header, payload := buf.Bytes()[:EncryptedHeaderSize], buf.Bytes()[EncryptedHeaderSize:]

	t.Run("k1-decrypts", func(t *testing.T) {
		checkDecrypt(t, header, payload, k1, pt)
	})
	t.Run("same-serial-other-key-refused-before-payload", func(t *testing.T) {
		checkDecrypt(t, header, payload, k2, nil)
	})
	for _, bit := range []int{0, 8*commitmentSize - 1} {
		flipped := bytes.Clone(header)
		flipped[EncryptedHeaderSize-commitmentSize+bit/8] ^= 1 << (bit % 8)
		t.Run(fmt.Sprintf("commitment-bit-%d-flipped-refused-before-payload", bit), func(t *testing.T) {
			checkDecrypt(t, flipped, payload, k1, nil)
		})
	}
	t.Run("flipped-nonce-refused-before-payload", func(t *testing.T) {
		checkDecrypt(t, flip(header, boundHeaderSize), payload, k1, nil)
	})
}

// checkDecrypt decrypts header followed by payload with key. With want nil
// it requires ErrAuth from the Decrypt call and no read of the payload;
// otherwise it requires the plaintext want (and the payload to be read,
// which shows the read tracking works).
func checkDecrypt(t *testing.T, header, payload []byte, key *SessionKey, want []byte) {
	t.Helper()
	tr := &trackingReader{r: bytes.NewReader(payload)}
	r, err := Decrypt(io.MultiReader(bytes.NewReader(header), tr), key, &EncryptOptions{Workers: 1})
	if want == nil {
		if !errors.Is(err, ErrAuth) || r != nil {
			t.Errorf("Decrypt = %v, %v; want nil, ErrAuth", r, err)
		}
		if tr.read {
			t.Error("Decrypt read the payload before refusing the key")
		}
		return
	}
	if err != nil {
		t.Fatalf("Decrypt: %v", err)
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("plaintext %x, %v; want %x", got, err, want)
	}
	if !tr.read {
		t.Error("the payload was never read: the read tracking is broken")
	}
}

// trackingReader records whether Read was ever called.
type trackingReader struct {
	r    io.Reader
	read bool
}

func (tr *trackingReader) Read(p []byte) (int, error) {
	tr.read = true
	return tr.r.Read(p)
}

func sessionKeyWithSerial(t *testing.T, serial Serial) *SessionKey {
	t.Helper()
	raw := make([]byte, SessionKeySize)
	rand.Read(raw)
	k, err := NewSessionKeyFrom(serial, raw)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newGCM(t *testing.T, key []byte) cipher.AEAD {
	t.Helper()
	aead, err := cipher.NewGCM(newAES(key))
	if err != nil {
		t.Fatal(err)
	}
	return aead
}

func newAES(key []byte) cipher.Block {
	b, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // only for a key of a bad size
	}
	return b
}

// gcmElem is an element of GF(2^128) in GCM's bit order (NIST SP 800-38D,
// 6.3): the most significant bit of byte 0 is the coefficient of x^0, the
// least significant bit of byte 15 that of x^127, and the field is reduced
// by x^128 + x^7 + x^2 + x + 1. Addition is xor.
type gcmElem [16]byte

// gcmOne is the multiplicative identity, x^0.
var gcmOne = gcmElem{0x80}

func (a gcmElem) xor(b gcmElem) gcmElem {
	for i := range a {
		a[i] ^= b[i]
	}
	return a
}

// gcmMul is SP 800-38D's Algorithm 1: for each coefficient of x, from x^0
// up, add v = y·x^i when it is set; multiplying v by x is a right shift in
// this bit order, and the x^128 that falls off is x^7 + x^2 + x + 1, which
// is 0xe1 in byte 0.
func gcmMul(x, y gcmElem) gcmElem {
	var z gcmElem
	v := y
	for i := range 128 {
		if x[i/8]>>(7-i%8)&1 == 1 {
			z = z.xor(v)
		}
		carry := v[15] & 1
		for b := 15; b > 0; b-- {
			v[b] = v[b]>>1 | v[b-1]<<7
		}
		v[0] >>= 1
		if carry == 1 {
			v[0] ^= 0xe1
		}
	}
	return z
}

func gcmPow(a gcmElem, e int) gcmElem {
	r := gcmOne
	for range e {
		r = gcmMul(r, a)
	}
	return r
}

// gcmInv returns a^-1 = a^(2^128-2) for a ≠ 0, by square and multiply:
// 2^128-2 = 2^1 + 2^2 + … + 2^127, so a^-1 is the product of a^(2^i).
func gcmInv(a gcmElem) gcmElem {
	r, s := gcmOne, a
	for range 127 {
		s = gcmMul(s, s)
		r = gcmMul(r, s)
	}
	if gcmMul(r, a) != gcmOne {
		panic("gcmInv: no inverse")
	}
	return r
}

// gcmHashKey returns GHASH's key H = E_k(0^128).
func gcmHashKey(key []byte) gcmElem {
	var h gcmElem
	newAES(key).Encrypt(h[:], h[:])
	return h
}

// gcmTag returns the AES-GCM tag of ciphertext ct under key and a 12-byte
// nonce with no associated data: E_k(J0) ⊕ GHASH_H(ct, zero-padded, then
// the length block 0^64 || bits(ct)), with J0 = nonce || 0x00000001.
func gcmTag(key, nonce, ct []byte) gcmElem {
	h := gcmHashKey(key)
	bits := uint64(len(ct)) * 8
	var y gcmElem
	for len(ct) > 0 {
		var blk gcmElem
		ct = ct[copy(blk[:], ct):]
		y = gcmMul(y.xor(blk), h)
	}
	var lengths gcmElem
	binary.BigEndian.PutUint64(lengths[8:], bits)
	y = gcmMul(y.xor(lengths), h)
	var j0 gcmElem
	copy(j0[:], nonce)
	j0[15] = 1
	newAES(key).Encrypt(j0[:], j0[:])
	return y.xor(j0)
}
