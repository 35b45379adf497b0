package seal

import (
	"bufio"
	"cmp"
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/stream"
	"github.com/keyblob/keyblob/replay"
)

// ErrAuth is the one error for every authentication failure of a message.
// Errors wrapping it say only which part failed: the recipient stanza, the
// header MAC, or the payload (including the signature).
var ErrAuth = keyblob.ErrAuth

var (
	errStanzaAuth  = fmt.Errorf("%w (recipient stanza)", ErrAuth)
	errHeaderAuth  = fmt.Errorf("%w (header)", ErrAuth)
	errPayloadAuth = fmt.Errorf("%w (payload)", ErrAuth)
)

// ErrNoMatch is returned when no identity, passphrase or session key given
// can open the message. The error text lists the recipient kinds present.
var ErrNoMatch = errors.New("no identity matched")

// ErrNeedPassphrase is returned when the message is sealed with a
// passphrase and OpenOptions.Passphrase is nil. It wraps ErrNoMatch.
var ErrNeedPassphrase = fmt.Errorf("%w: the message is sealed with a passphrase", ErrNoMatch)

// ErrNotSigned is returned when a sender is required and the message is
// not signed.
var ErrNotSigned = keyblob.ErrNotSigned

// ErrWrongSender is returned when the message is signed by another key than
// the required sender's.
var ErrWrongSender = keyblob.ErrWrongSigner

// ErrExpired is returned for a message past its expiry.
var ErrExpired = errors.New("the message has expired")

// OpenOptions say how to open. Give Identities, a SessionKey, or a
// Passphrase callback.
type OpenOptions struct {
	Identities []*keyblob.Identity
	// SessionKey opens the message whose serial it has.
	SessionKey *keyblob.SessionKey
	// Passphrase is called, once, if the message is sealed to a
	// passphrase; nil refuses such a message (ErrNeedPassphrase). A caller
	// should set it only when its user asked to open with a passphrase:
	// whoever sends passphrase messages chooses the Argon2id cost of each
	// try, and learns from the result whether the passphrase matched.
	Passphrase func() ([]byte, error)
	// From, if set, is the only sender accepted: the message must carry a
	// valid signature by From's signature key.
	From *keyblob.Recipient
	// FromAlso are other keys of the same sender, accepted like From: the
	// older generations of a rotated identity.
	FromAlso []*keyblob.Recipient
	// MaxAge, if set, refuses messages created longer ago than that, or
	// dated further in the future than replay.DefaultSkew.
	MaxAge time.Duration
	// Cache, if set, accepts each message once. Its key is the replay
	// identifier, derived from the session key and the serial
	// (spec/sealed.md, 6), which only the genuine message yields: a copy
	// whose signature was stripped has the same one, and a message that
	// copies the serial in clear does not. WriteTo and Reader record the
	// message, the reservation, only after it is fully authenticated
	// (header MAC, payload, signature) and before they report success; a
	// caller that then fails to deliver the plaintext has used the
	// message up (fail closed). See ReplayCache for what seal relies on.
	Cache ReplayCache
	// Context is passed to every Cache call, which it may cancel; nil
	// means context.Background().
	Context context.Context
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Workers open chunks in parallel; zero or less means one per CPU.
	Workers int
	// Progress, if set, is called by WriteTo and Decrypt with the number
	// of input bytes done, in order, from one goroutine at a time.
	Progress func(n int)
}

// An Opener is a message whose header has been authenticated. Its payload
// is read once, with Reader, WriteTo or Decrypt.
//
// Plaintext that these produce before they report success is not yet
// authentic: each chunk is authenticated to the session key, which every
// recipient knows, so a co-recipient can replace a signed message's
// payload, and only the signature at the end tells. The caller must hold
// the plaintext (a temporary file, a private spool) and release it only
// after a nil return from WriteTo or Decrypt, or io.EOF from Reader; this
// package does no such holding itself.
type Opener struct {
	h        *Header
	key      *keyblob.SessionKey
	replayID []byte // of the content: session key and serial
	signedID []byte // of a signed message: content and signer
	opts     OpenOptions
	cipher   *stream.Cipher
	src      io.Reader   // the payload and trailer, from Open; nil from OpenAt
	at       io.ReaderAt // the message, from OpenAt
	size     int64       // the size of the message in at
}

// Open reads and authenticates the header of a message from the stream
// src, after which the payload is read from src as a stream. It checks the
// sender (From), finds a way to unwrap the session key, verifies the
// header MAC, the expiry, the age and the replay cache, in that order.
func Open(src io.Reader, opts *OpenOptions) (*Opener, error) {
	br := bufio.NewReaderSize(src, 64<<10)
	return open(&Opener{src: br}, br, opts)
}

// OpenAt is Open for a message that is the size bytes of src, such as a
// regular file: the payload is then read at offsets, by the workers
// concurrently, and the signature at its offset.
func OpenAt(src io.ReaderAt, size int64, opts *OpenOptions) (*Opener, error) {
	o := &Opener{at: src, size: size}
	return open(o, bufio.NewReader(io.NewSectionReader(src, 0, size)), opts)
}

// open reads the header from hr and does the checks of Open.
func open(o *Opener, hr io.Reader, opts *OpenOptions) (*Opener, error) {
	if opts != nil {
		o.opts = *opts
	}
	h, err := ReadHeader(hr)
	if err != nil {
		return nil, err
	}
	o.h = h
	if err := o.checkSender(); err != nil {
		return nil, fmt.Errorf("the message is %w", err)
	}
	if o.key, err = o.unwrap(); err != nil {
		return nil, err
	}
	if !h.checkMAC(o.key) {
		return nil, errHeaderAuth
	}
	if o.replayID, err = replayID(o.key, h.f.Serial); err != nil {
		return nil, err
	}
	if h.Signed() {
		if o.signedID, err = signedReplayID(o.key, h.f.Serial, h.f.Signer); err != nil {
			return nil, err
		}
	}
	if err := o.checkTimes(); err != nil {
		return nil, err
	}
	o.cipher, err = stream.NewCipher(h.payloadKey(o.key))
	return o, err
}

// Header returns the message's header, authenticated by its MAC. It is
// immutable: what Open checked is what Decrypt, WriteTo and Reader use.
func (o *Opener) Header() *Header { return o.h }

func (o *Opener) checkSender() error {
	from, h := o.opts.From, &o.h.f
	switch {
	case from == nil:
		return nil
	case h.Signer == nil:
		return ErrNotSigned
	}
	for _, r := range append([]*keyblob.Recipient{from}, o.opts.FromAlso...) {
		if r.CanVerify() && h.Signer.SigningFingerprint().Equal(r.SigningFingerprint()) {
			return nil
		}
	}
	return fmt.Errorf("%w (%s), not by %s", ErrWrongSender, h.Signer.SigningFingerprint(), from.SigningFingerprint())
}

// unwrap finds the session key.
func (o *Opener) unwrap() (*keyblob.SessionKey, error) {
	h := &o.h.f
	switch {
	case o.opts.SessionKey != nil:
		if o.opts.SessionKey.Serial() != h.Serial {
			return nil, fmt.Errorf("%w: the session key has serial %s, the message needs %s", ErrNoMatch, o.opts.SessionKey.Serial(), h.Serial)
		}
		return o.opts.SessionKey, nil
	case o.h.Passphrase():
		return o.unwrapPassphrase()
	}
	for _, s := range h.Stanzas {
		if id := o.identityFor(s); id != nil {
			k, err := keyblob.Import(s.blob, id, nil)
			if err != nil {
				return nil, errStanzaAuth
			}
			return k, nil
		}
	}
	return nil, o.noMatch()
}

// identityFor returns the identity a key blob stanza is wrapped to, or nil.
func (o *Opener) identityFor(s Stanza) *keyblob.Identity {
	if s.blob == nil {
		return nil
	}
	for _, id := range o.opts.Identities {
		if id.CanExchange() && s.blob.Recipient().Equal(id.Recipient().ExchangeFingerprint()) {
			return id
		}
	}
	return nil
}

func (o *Opener) unwrapPassphrase() (*keyblob.SessionKey, error) {
	if o.opts.Passphrase == nil {
		return nil, ErrNeedPassphrase
	}
	pass, err := o.opts.Passphrase()
	if err != nil {
		return nil, err
	}
	h := o.h
	raw, err := h.f.Stanzas[0].pass.unwrap(pass, h.raw[:h.prefixLen])
	if err != nil {
		return nil, err
	}
	return keyblob.NewSessionKeyFrom(h.f.Serial, raw)
}

// noMatch says who the message is for.
func (o *Opener) noMatch() error {
	counts := map[string]int{}
	for _, s := range o.h.f.Stanzas {
		name := fmt.Sprintf("unknown stanza type 0x%02x", s.typ)
		if s.blob != nil {
			name = s.blob.ExchangeAlg().String()
		}
		counts[name]++
	}
	var kinds []string
	for name, n := range counts {
		kinds = append(kinds, fmt.Sprintf("%d × %s", n, name))
	}
	sort.Strings(kinds)
	return fmt.Errorf("%w: the message is for %d recipient(s): %s", ErrNoMatch, len(o.h.f.Stanzas), strings.Join(kinds, ", "))
}

func (o *Opener) now() time.Time {
	if o.opts.Now != nil {
		return o.opts.Now()
	}
	return time.Now()
}

// checkTimes applies the expiry, the age window and the replay cache.
func (o *Opener) checkTimes() error {
	h, now := &o.h.f, o.now()
	if !h.Expires.IsZero() && !now.Before(h.Expires) {
		return fmt.Errorf("%w (at %s)", ErrExpired, h.Expires.Format(time.RFC3339))
	}
	if o.opts.MaxAge > 0 {
		if err := (replay.Window{MaxAge: o.opts.MaxAge}).Check(h.Created, now); err != nil {
			return err
		}
	}
	if c := o.opts.Cache; c != nil {
		ctx := o.cacheContext()
		if o.opts.MaxAge > 0 {
			if err := c.Purge(ctx, now.Add(-o.opts.MaxAge)); err != nil {
				return err
			}
		}
		return c.Check(ctx, o.checkedID(), h.Created)
	}
	return nil
}

// checkedID is the identifier the replay cache is asked about: a signed
// message's own (signer included), so that a copy stripped of its
// signature and opened first does not use the signed one up; the
// content's for an unsigned one, so that a stripped copy of a message
// accepted before is a replay (spec/sealed.md section 6).
func (o *Opener) checkedID() []byte {
	if o.signedID != nil {
		return o.signedID
	}
	return o.replayID
}

// replayIDLabel is the HKDF label of the replay identifier.
const replayIDLabel = "keyblob/v1 sealed replay id"

// replayID derives the message's replay identifier (spec/sealed.md, 6)
// from its session key and serial: what only the genuine message, and
// every copy of it, yields.
func replayID(key *keyblob.SessionKey, serial keyblob.Serial) ([]byte, error) {
	return hkdf.Key(sha256.New, key.Bytes(), nil, replayIDLabel+string(serial[:]), replay.IDSize)
}

// signedReplayIDLabel is the HKDF label of a signed message's replay
// identifier.
const signedReplayIDLabel = "keyblob/v1 sealed signed replay id"

// signedReplayID derives a signed message's replay identifier: its
// content's (session key and serial) and its signer's key.
func signedReplayID(key *keyblob.SessionKey, serial keyblob.Serial, signer *keyblob.Recipient) ([]byte, error) {
	info := signedReplayIDLabel + string(serial[:]) + string(signer.SigningKeyBytes())
	return hkdf.Key(sha256.New, key.Bytes(), nil, info, replay.IDSize)
}

// SetProgress sets the progress callback of WriteTo and Decrypt (see
// OpenOptions.Progress).
func (o *Opener) SetProgress(fn func(n int)) { o.opts.Progress = fn }

// SessionKey returns the message's session key (gpg's --show-session-key):
// with it, anyone can open this message, and only this one.
func (o *Opener) SessionKey() *keyblob.SessionKey { return o.key }

// finish verifies the signature over the payload digest and then records
// the message in the replay cache: the reservation comes after everything
// is authenticated, so a tampered copy never uses the message up.
func (o *Opener) finish(trailer []byte, digest hash.Hash) error {
	h := o.h
	if h.Signed() {
		if len(trailer) != h.f.SigLen || h.f.Signer.Verify(signatureContext, h.signedMessage(digest), trailer) != nil {
			return errPayloadAuth
		}
	}
	if c := o.opts.Cache; c != nil {
		return o.record(c)
	}
	return nil
}

// record reserves the message in the replay cache: a signed message's
// own identifier (the atomic reservation), then its content's, which a
// stripped copy opened first may hold already; an unsigned message's
// content identifier.
func (o *Opener) record(c ReplayCache) error {
	ctx, created := o.cacheContext(), o.h.f.Created
	if err := c.Record(ctx, o.checkedID(), created); err != nil || o.signedID == nil {
		return err
	}
	if err := c.Record(ctx, o.replayID, created); err != nil && !errors.Is(err, replay.ErrReplay) {
		return err
	}
	return nil
}

// WriteTo decrypts the payload to dst, in order, and finishes the message:
// it is Decrypt with a Sink of W dst.
func (o *Opener) WriteTo(dst io.Writer) (int64, error) {
	return o.Decrypt(Sink{W: dst})
}

// Decrypt decrypts the payload to dst and finishes the message, and returns
// the size of the plaintext. It returns nil only when everything is
// authentic and recorded. What it writes to dst before it returns is not
// authentic yet (see Opener): the caller must hold it until the nil
// return, and discard it on any error. It reads ahead, opens on the
// workers and writes at the same time; from OpenAt, the workers read the
// chunks at their offsets.
func (o *Opener) Decrypt(dst Sink) (int64, error) {
	if streamSink(dst).Check() != nil {
		return 0, errors.New("a Sink needs one of W and At")
	}
	if o.at == nil {
		return o.decryptStream(dst)
	}
	return o.decryptAt(dst)
}

// decryptStream decrypts the payload that follows the header in o.src;
// a signed message's trailer is held back from the engine.
func (o *Opener) decryptStream(dst Sink) (int64, error) {
	h := o.h
	src, tail := o.src, (*tailReader)(nil)
	if h.Signed() {
		tail = newTailReader(o.src, h.f.SigLen)
		src = tail
	}
	so := payloadOptions(o.opts.Workers, o.opts.Progress, h.Signed())
	n, err := stream.Open(o.cipher, stream.Source{R: src}, streamSink(dst), so)
	if err != nil {
		return 0, payloadError(err)
	}
	return n, o.finish(tail.held(), so.Digest)
}

// decryptAt decrypts the payload between the header and the trailer of
// o.at, and reads the trailer at its offset.
func (o *Opener) decryptAt(dst Sink) (int64, error) {
	h := o.h
	off := int64(h.Size())
	size := o.size - off - int64(h.f.SigLen)
	if _, err := stream.PlaintextSize(size); err != nil {
		return 0, errPayloadAuth
	}
	so := payloadOptions(o.opts.Workers, o.opts.Progress, h.Signed())
	src := stream.Source{At: o.at, Offset: off, Size: size}
	n, err := stream.Open(o.cipher, src, streamSink(dst), so)
	if err != nil {
		return 0, payloadError(err)
	}
	trailer := make([]byte, h.f.SigLen)
	if k, err := o.at.ReadAt(trailer, off+size); k < len(trailer) {
		return 0, fmt.Errorf("reading the signature: %w", cmp.Or(err, io.ErrUnexpectedEOF))
	}
	return n, o.finish(trailer, so.Digest)
}

func payloadError(err error) error {
	if errors.Is(err, stream.ErrAuth) {
		return errPayloadAuth
	}
	return err
}

// Reader returns the plaintext as a stream. Each chunk returned is
// authenticated to the session key only; io.EOF comes only after the
// signature has verified and the message has been recorded in the replay
// cache. Until then what was read is not authentic (see Opener): hold it,
// and discard it on any other error.
func (o *Opener) Reader() io.Reader {
	src := o.src
	if o.at != nil {
		src = io.NewSectionReader(o.at, int64(o.h.Size()), o.size-int64(o.h.Size()))
	}
	r := &payloadReader{o: o}
	if o.h.Signed() {
		// The signature trailer follows the payload: hold it back.
		r.tail = newTailReader(src, o.h.f.SigLen)
		src = r.tail
	}
	r.sr = stream.NewReader(o.cipher, src, o.opts.Workers)
	if o.h.Signed() {
		r.digest = stream.NewChunkDigest(digestPrefix)
		r.sr.HashTo(r.digest)
	}
	return r
}

type payloadReader struct {
	o      *Opener
	tail   *tailReader // nil for an unsigned message, which has no trailer
	sr     *stream.Reader
	digest hash.Hash
	err    error
}

func (r *payloadReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.sr.Read(p)
	switch {
	case err == io.EOF:
		if r.err = r.o.finish(r.tail.held(), r.digest); r.err == nil {
			r.err = io.EOF
		}
		return n, r.err
	case err != nil:
		r.err = payloadError(err)
	}
	return n, r.err
}
