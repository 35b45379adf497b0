package channel

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync/atomic"

	"github.com/keyblob/keyblob"
)

// A RecordType is the kind of an opened record.
type RecordType uint8

// The record types (spec/channel.md sections 3.4 and 4.4). Seed records
// have only data and close.
const (
	// RecordData carries stream data.
	RecordData RecordType = 0
	// RecordKeyUpdate carries stream data (possibly none), and says that
	// the sender's later records use the next key epoch (v2).
	RecordKeyUpdate RecordType = 1
	// RecordClose ends the sender's direction of the stream.
	RecordClose RecordType = 2
)

// The record layer of each profile is one sealer and one opener per
// session, the sealer for this end's direction and the opener for the
// peer's. They share nothing, so one goroutine may seal while another
// opens.
type sealer interface {
	// seal appends the record of data of the given type to dst.
	seal(dst []byte, typ RecordType, data []byte) ([]byte, error)
	// epoch returns the current key epoch (0 for seed).
	epoch() uint64
}

type opener interface {
	// open decrypts rec in place and returns its type and data, which
	// alias rec. Any failure is ErrAuth and changes nothing, so a forged
	// record never advances the sequence number.
	open(rec []byte) (RecordType, []byte, error)
	epoch() uint64
	// maxRecord is the largest record it accepts.
	maxRecord() int
}

// errMalformedRecord is returned for a record that opened but breaks the
// record rules: an authentic peer that is broken.
var errMalformedRecord = fmt.Errorf("%w channel record", keyblob.ErrMalformed)

// errSealClosed is returned for a record sealed after the close record.
var errSealClosed = errors.New("write after the close record")

// checkRecordRules refuses the records no sender makes: an empty data
// record, a close record with more than its one reason byte or with the
// reason 0 (which is the empty close record), an unknown type.
func checkRecordRules(typ RecordType, data []byte) error {
	switch {
	case typ == RecordData && len(data) == 0:
		return fmt.Errorf("%w: empty data record", errMalformedRecord)
	case typ == RecordClose && (len(data) > 1 || len(data) == 1 && data[0] == 0):
		return fmt.Errorf("%w: close record with data", errMalformedRecord)
	case typ > RecordClose:
		return fmt.Errorf("%w: unknown record type %d", errMalformedRecord, typ)
	}
	return nil
}

// Seed records: IV || MAC || AES-128-CBC(PKCS7(payload)), MAC = first 16
// bytes of HMAC-SHA256(mac_key, dir || seq || IV || C).

const (
	dirClient = 0x01 // client to server
	dirServer = 0x02 // server to client

	seedBlock    = aes.BlockSize
	seedMACSize  = 16
	seedOverhead = seedBlock + seedMACSize
	// seedMaxBytes is the most payload one seed direction seals (2^32
	// AES blocks).
	seedMaxBytes = 1 << 36
)

// seedHalf is the state of one direction of a seed session: both ends
// use the same keys, and dir tells the directions apart.
type seedHalf struct {
	block  cipher.Block
	mac    hash.Hash // HMAC-SHA256 under mac_key, reset for each record
	sum    [sha256.Size]byte
	dir    byte
	seq    uint64
	sealed uint64 // payload bytes sealed
	closed bool
	rand   io.Reader
	max    int // the largest payload
}

func newSeedHalf(aesKey, macKey []byte, dir byte, cfg *Config) *seedHalf {
	block, err := aes.NewCipher(aesKey)
	if err != nil {
		panic("channel: AES-128: " + err.Error())
	}
	return &seedHalf{block: block, mac: hmac.New(sha256.New, macKey), dir: dir, rand: cfg.rand(), max: cfg.maxMessage()}
}

// tag computes the record MAC for the current sequence number. The
// result is in h.sum, valid until the next call.
func (h *seedHalf) tag(iv, ct []byte) []byte {
	h.mac.Reset()
	var hdr [9]byte
	hdr[0] = h.dir
	binary.BigEndian.PutUint64(hdr[1:], h.seq)
	h.mac.Write(hdr[:])
	h.mac.Write(iv)
	h.mac.Write(ct)
	return h.mac.Sum(h.sum[:0])[:seedMACSize]
}

func (h *seedHalf) epoch() uint64 { return 0 }

func (h *seedHalf) maxRecord() int { return seedRecordSize(h.max) }

// seedRecordSize is the size of the record of the largest payload of n
// bytes: the padding adds 1 to 16 bytes.
func seedRecordSize(n int) int { return seedOverhead + (n/seedBlock+1)*seedBlock }

func (h *seedHalf) seal(dst []byte, typ RecordType, data []byte) ([]byte, error) {
	switch {
	case h.closed:
		return dst, errSealClosed
	case typ == RecordKeyUpdate:
		return dst, fmt.Errorf("the seed profile has no key update: %w", errors.ErrUnsupported)
	case typ == RecordData && len(data) == 0:
		return dst, errors.New("empty record (an empty seed record is the close record)")
	case typ == RecordClose && len(data) != 0:
		return dst, errors.New("close record with data")
	}
	out, err := h.sealPayload(dst, data)
	if err == nil && typ == RecordClose {
		h.closed = true
	}
	return out, err
}

// sealPayload seals any payload, the empty one included: the initial
// message's may be empty.
func (h *seedHalf) sealPayload(dst, data []byte) ([]byte, error) {
	switch {
	case len(data) > h.max:
		return dst, fmt.Errorf("record payload of %d bytes over the limit of %d", len(data), h.max)
	case h.sealed+uint64(len(data)) > seedMaxBytes || h.seq == ^uint64(0):
		return dst, ErrKeyLimit
	}
	start := len(dst)
	dst = append(dst, make([]byte, seedOverhead)...)
	if _, err := io.ReadFull(h.rand, dst[start:start+seedBlock]); err != nil {
		return dst[:start], fmt.Errorf("reading randomness: %w", err)
	}
	pad := seedBlock - len(data)%seedBlock
	dst = append(dst, data...)
	for range pad {
		dst = append(dst, byte(pad))
	}
	iv, ct := dst[start:start+seedBlock], dst[start+seedOverhead:]
	cipher.NewCBCEncrypter(h.block, iv).CryptBlocks(ct, ct)
	copy(dst[start+seedBlock:], h.tag(iv, ct))
	h.seq++
	h.sealed += uint64(len(data))
	return dst, nil
}

func (h *seedHalf) open(rec []byte) (RecordType, []byte, error) {
	data, err := h.openPayload(rec)
	if err != nil {
		return 0, nil, err
	}
	if len(data) == 0 {
		return RecordClose, nil, nil
	}
	return RecordData, data, nil
}

// openPayload checks the length, then the MAC in constant time, and
// only then decrypts and checks the padding. Every failure is ErrAuth,
// before the sequence number moves.
func (h *seedHalf) openPayload(rec []byte) ([]byte, error) {
	if len(rec) < seedOverhead+seedBlock || len(rec)%seedBlock != 0 || len(rec) > h.maxRecord() {
		return nil, ErrAuth
	}
	iv, mac, ct := rec[:seedBlock], rec[seedBlock:seedOverhead], rec[seedOverhead:]
	if !hmac.Equal(h.tag(iv, ct), mac) {
		return nil, ErrAuth
	}
	// Only the holder of mac_key gets here, so the padding check below is
	// no oracle for anyone else (encrypt-then-MAC).
	cipher.NewCBCDecrypter(h.block, iv).CryptBlocks(ct, ct)
	data, ok := unpad(ct)
	if !ok {
		return nil, ErrAuth
	}
	h.seq++
	return data, nil
}

// unpad removes PKCS #7 padding, checking every padding byte without
// branching on them.
func unpad(b []byte) ([]byte, bool) {
	n := int(b[len(b)-1])
	good := subtle.ConstantTimeLessOrEq(1, n) & subtle.ConstantTimeLessOrEq(n, seedBlock)
	for i := 1; i <= seedBlock; i++ {
		inPad := subtle.ConstantTimeLessOrEq(i, n)
		same := subtle.ConstantTimeByteEq(b[len(b)-i], byte(n))
		good &= same | (inPad ^ 1)
	}
	if good != 1 {
		return nil, false
	}
	return b[:len(b)-n], true
}

// V2 records: AES-256-GCM(key, iv XOR seq, type || data), per direction
// and epoch.

const gcmOverhead = 1 + 16 // the type byte and the tag

// gcmHalf is the state of one direction of a v2 session.
type gcmHalf struct {
	secret     []byte // the traffic secret of the current epoch
	aead       cipher.AEAD
	iv         [12]byte
	n          [12]byte // the nonce of the record being sealed or opened
	seq        uint64
	bytes      uint64 // payload bytes under the current key
	ep         atomic.Uint64
	maxBytes   uint64
	maxRecords uint64
	max        int
	closed     bool
}

func newGCMHalf(secret []byte, cfg *Config) *gcmHalf {
	h := &gcmHalf{maxBytes: cfg.keyUpdateBytes(), maxRecords: cfg.keyUpdateRecords(), max: cfg.maxMessage()}
	h.setSecret(secret)
	return h
}

// setSecret makes the key and IV of a traffic secret and starts its seq.
func (h *gcmHalf) setSecret(secret []byte) {
	h.secret = secret
	block, err := aes.NewCipher(expand(secret, labelRecordKey, nil, 32))
	if err != nil {
		panic("channel: AES-256: " + err.Error())
	}
	if h.aead, err = cipher.NewGCM(block); err != nil {
		panic("channel: GCM: " + err.Error())
	}
	copy(h.iv[:], expand(secret, labelRecordIV, nil, len(h.iv)))
	h.seq, h.bytes = 0, 0
}

// update moves to the next epoch and forgets the old secret.
func (h *gcmHalf) update() {
	h.setSecret(expand(h.secret, labelKeyUpdate, nil, 32))
	h.ep.Add(1)
}

// nonce returns iv XOR seq, in h.n: no allocation per record.
func (h *gcmHalf) nonce() []byte {
	h.n = [12]byte{}
	binary.BigEndian.PutUint64(h.n[4:], h.seq)
	subtle.XORBytes(h.n[:], h.n[:], h.iv[:])
	return h.n[:]
}

func (h *gcmHalf) epoch() uint64 { return h.ep.Load() }

func (h *gcmHalf) maxRecord() int { return h.max + gcmOverhead }

// seal seals a record; a data record that reaches a key limit is sent as
// a key update (spec/channel.md section 4.5).
func (h *gcmHalf) seal(dst []byte, typ RecordType, data []byte) ([]byte, error) {
	switch {
	case h.closed:
		return dst, errSealClosed
	case len(data) > h.max:
		return dst, fmt.Errorf("record payload of %d bytes over the limit of %d", len(data), h.max)
	}
	if err := checkRecordRules(typ, data); err != nil {
		return dst, fmt.Errorf("cannot seal: %w", err)
	}
	if typ == RecordData && (h.seq+1 >= h.maxRecords || h.bytes+uint64(len(data)) >= h.maxBytes) {
		typ = RecordKeyUpdate
	}
	start := len(dst)
	dst = append(dst, byte(typ))
	dst = append(dst, data...)
	dst = h.aead.Seal(dst[:start], h.nonce(), dst[start:], nil)
	h.seq++
	h.bytes += uint64(len(data))
	switch typ {
	case RecordKeyUpdate:
		h.update()
	case RecordClose:
		h.closed = true
	}
	return dst, nil
}

func (h *gcmHalf) open(rec []byte) (RecordType, []byte, error) {
	if len(rec) < gcmOverhead || len(rec) > h.maxRecord() {
		return 0, nil, ErrAuth
	}
	pt, err := h.aead.Open(rec[:0], h.nonce(), rec, nil)
	if err != nil {
		return 0, nil, ErrAuth
	}
	typ, data := RecordType(pt[0]), pt[1:]
	if err := checkRecordRules(typ, data); err != nil {
		return 0, nil, err
	}
	h.seq++
	if typ == RecordKeyUpdate {
		h.update()
	}
	return typ, data, nil
}
