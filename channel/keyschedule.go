package channel

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
)

// The labels of spec/channel.md section 4: one per derivation, and the
// info of each encapsulation.
const (
	labelPrologue         = "keyblob/v2 channel"
	labelHandshake        = "keyblob/v2 channel handshake"
	labelResponderConfirm = "keyblob/v2 responder confirm"
	labelInitiatorConfirm = "keyblob/v2 initiator confirm"
	labelClientTraffic    = "keyblob/v2 client traffic"
	labelServerTraffic    = "keyblob/v2 server traffic"
	labelRecordKey        = "keyblob/v2 record key"
	labelRecordIV         = "keyblob/v2 record iv"
	labelKeyUpdate        = "keyblob/v2 key update"
	// labelSeedReplay derives a seed session's replay id (epochkey.go).
	labelSeedReplay = "keyblob/v1 channel seed replay"

	infoResponderStatic    = "keyblob/v2 channel responder static"
	infoInitiatorEphemeral = "keyblob/v2 channel initiator ephemeral"
	infoInitiatorStatic    = "keyblob/v2 channel initiator static"

	// seedSignatureContext is the signature context (spec/blob.md 7.4) of
	// a seed server's signature over its session key.
	seedSignatureContext = "channel seed server key"
)

// expand is spec/channel.md's Expand: HKDF-Expand with label || 0x00 ||
// ctx as the info.
func expand(secret []byte, label string, ctx []byte, n int) []byte {
	out, err := hkdf.Expand(sha256.New, secret, label+"\x00"+string(ctx), n)
	if err != nil {
		panic("channel: HKDF-Expand: " + err.Error())
	}
	return out
}

// A transcript is the v2 prologue and messages so far, each message with
// its u32 length. It is a few kilobytes at most, so it keeps the bytes.
type transcript struct{ buf []byte }

// newTranscript starts the transcript with the prologue P: the server's
// static key as the client pinned it (alg 0 and no key if insecure).
func newTranscript(alg uint8, key []byte) *transcript {
	t := &transcript{buf: make([]byte, 0, 4096)}
	t.buf = append(t.buf, labelPrologue...)
	t.buf = append(t.buf, 0, alg)
	t.buf = binary.BigEndian.AppendUint16(t.buf, uint16(len(key)))
	t.buf = append(t.buf, key...)
	return t
}

// add appends a message.
func (t *transcript) add(msg []byte) {
	t.buf = binary.BigEndian.AppendUint32(t.buf, uint32(len(msg)))
	t.buf = append(t.buf, msg...)
}

// hash returns the hash of the transcript, with msg appended if not nil,
// leaving the transcript as it is.
func (t *transcript) hash(msg []byte) []byte {
	h := sha256.New()
	h.Write(t.buf)
	if msg != nil {
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(msg))))
		h.Write(msg)
	}
	return h.Sum(nil)
}

// A keySchedule holds the v2 handshake secret hs.
type keySchedule struct{ hs []byte }

// newKeySchedule extracts hs from the shared secrets present, in the
// order ss_s, ss_e, ss_c (nil ones are absent).
func newKeySchedule(secrets ...[]byte) *keySchedule {
	var ikm []byte
	for _, s := range secrets {
		ikm = append(ikm, s...)
	}
	hs, err := hkdf.Extract(sha256.New, ikm, []byte(labelHandshake))
	if err != nil {
		panic("channel: HKDF-Extract: " + err.Error())
	}
	return &keySchedule{hs}
}

func (k *keySchedule) confirm(label string, th []byte) []byte {
	m := hmac.New(sha256.New, expand(k.hs, label, nil, 32))
	m.Write(th)
	return m.Sum(nil)
}

// responderConfirm is confirm_s over th2; initiatorConfirm is confirm_c
// over th3.
func (k *keySchedule) responderConfirm(th2 []byte) []byte {
	return k.confirm(labelResponderConfirm, th2)
}

func (k *keySchedule) initiatorConfirm(th3 []byte) []byte {
	return k.confirm(labelInitiatorConfirm, th3)
}

// traffic returns the first traffic secrets of each direction.
func (k *keySchedule) traffic(thf []byte) (client, server []byte) {
	return expand(k.hs, labelClientTraffic, thf, 32), expand(k.hs, labelServerTraffic, thf, 32)
}
