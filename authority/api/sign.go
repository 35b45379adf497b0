package api

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/replay"
)

// Protocol limits (spec/escrow-api.md section 9).
const (
	MaxSkew        = replay.DefaultSkew
	MaxBody        = 64 << 10
	MaxTarget      = 4096
	DefaultPage    = 100
	ProtocolName   = "keyblob-escrow/v1"
	requestContext = "escrow request"
	receiptContext = "escrow receipt"
)

// Auth is the signature of a signed request: its four headers, parsed
// (spec/escrow-api.md section 4).
type Auth struct {
	Signer    keyblob.Fingerprint
	Time      int64
	Nonce     [16]byte
	Signature []byte
}

// Request is a signed request as received: the method, the request-target
// as sent, the body bytes, and the parsed signature headers (nil when they
// were missing or malformed, which is ErrUnauthenticated).
type Request struct {
	Method string
	Target string
	Body   []byte
	Auth   *Auth
	// LogSize is the tree size the client says it saw (HeaderLogSize), 0
	// if it said none; unauthenticated.
	LogSize uint64
}

// SignedMessage returns the data a request's signature covers, in the
// context "escrow request": authority || signer || u64(time) || nonce ||
// u16<method> || u16<target> || SHA-256(body).
func SignedMessage(authority keyblob.Fingerprint, a *Auth, method, target string, body []byte) ([]byte, error) {
	if len(method) > 0xffff || len(target) > MaxTarget || a.Time < 0 {
		return nil, fmt.Errorf("%w request: target of %d bytes (at most %d)", errMalformed, len(target), MaxTarget)
	}
	h := sha256.Sum256(body)
	b := make([]byte, 0, 32+32+8+16+4+len(method)+len(target)+32)
	b = append(append(b, authority[:]...), a.Signer[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(a.Time))
	b = append(b, a.Nonce[:]...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(method)))
	b = append(b, method...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(target)))
	b = append(b, target...)
	return append(b, h[:]...), nil
}

// NewAuth returns the Auth of a request id will sign at time t, with a
// fresh nonce and no signature yet: a request whose body depends on its
// nonce (a sealed code) is built between NewAuth and Sign.
func NewAuth(id *keyblob.Identity, t time.Time) *Auth {
	a := &Auth{Signer: id.Recipient().SigningFingerprint(), Time: t.Unix()}
	rand.Read(a.Nonce[:])
	return a
}

// Sign signs the request for the authority with id, whose signature key
// must be a.Signer, and sets a.Signature.
func (a *Auth) Sign(id *keyblob.Identity, authority keyblob.Fingerprint, method, target string, body []byte) error {
	msg, err := SignedMessage(authority, a, method, target, body)
	if err != nil {
		return err
	}
	a.Signature, err = id.Sign(requestContext, msg)
	return err
}

// SignRequest signs a request for the authority with id, at time t, with
// a fresh nonce, and returns its Auth.
func SignRequest(id *keyblob.Identity, authority keyblob.Fingerprint, method, target string, body []byte, t time.Time) (*Auth, error) {
	a := NewAuth(id, t)
	if err := a.Sign(id, authority, method, target, body); err != nil {
		return nil, err
	}
	return a, nil
}

// VerifyRequest checks r's signature (spec section 4, steps 2 and 3)
// with key, the signer's recipient as the authority resolved it. Every
// failure is ErrUnauthenticated.
func VerifyRequest(authority keyblob.Fingerprint, r *Request, key *keyblob.Recipient) error {
	if r.Auth == nil || key == nil || !key.CanVerify() || key.SigningFingerprint() != r.Auth.Signer {
		return ErrUnauthenticated
	}
	msg, err := SignedMessage(authority, r.Auth, r.Method, r.Target, r.Body)
	if err != nil || key.Verify(requestContext, msg, r.Auth.Signature) != nil {
		return ErrUnauthenticated
	}
	return nil
}

// The signature headers (spec section 4).
const (
	HeaderSigner    = "Keyblob-Signer"
	HeaderTime      = "Keyblob-Time"
	HeaderNonce     = "Keyblob-Nonce"
	HeaderSignature = "Keyblob-Signature"
)

// ParseAuthHeaders reads the four signature headers, each exactly once
// and canonical; any failure is ErrUnauthenticated.
func ParseAuthHeaders(hd http.Header) (*Auth, error) {
	var v [4]string
	for i, name := range []string{HeaderSigner, HeaderTime, HeaderNonce, HeaderSignature} {
		vals := hd.Values(name)
		if len(vals) != 1 {
			return nil, ErrUnauthenticated
		}
		v[i] = vals[0]
	}
	return ParseAuth(v[0], v[1], v[2], v[3])
}

// ParseAuth parses the values of the four signature headers.
func ParseAuth(signer, t, nonce, sig string) (*Auth, error) {
	a := &Auth{}
	var err error
	if a.Signer, err = ParseFingerprint("signer", signer); err != nil {
		return nil, ErrUnauthenticated
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != t {
		return nil, ErrUnauthenticated
	}
	a.Time = n
	raw, err := DecodeBytes("nonce", nonce, 16)
	if err != nil || len(raw) != 16 {
		return nil, ErrUnauthenticated
	}
	copy(a.Nonce[:], raw)
	if a.Signature, err = DecodeBytes("signature", sig, keyblob.MaxSignerKey); err != nil || len(a.Signature) == 0 {
		return nil, ErrUnauthenticated
	}
	return a, nil
}

// SetAuthHeaders sets the four signature headers of a.
func SetAuthHeaders(hd http.Header, a *Auth) {
	hd.Set(HeaderSigner, a.Signer.String())
	hd.Set(HeaderTime, strconv.FormatInt(a.Time, 10))
	hd.Set(HeaderNonce, EncodeBytes(a.Nonce[:]))
	hd.Set(HeaderSignature, EncodeBytes(a.Signature))
}
