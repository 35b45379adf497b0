// Package seal implements sealed messages (spec/sealed.md): seeds 000 and
// 001 in one object. A message is encrypted with a new session key, which
// is exported as a key blob to each recipient (or wrapped under one
// passphrase); the header carries a timestamp, a random serial number and
// an optional expiry against replay, and is authenticated with a MAC keyed
// from the session key; the sender may sign the header and the payload.
package seal

import (
	"crypto/rand"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/stream"
	"github.com/keyblob/keyblob/password"
)

// Options say how to seal. Set Recipients or Passphrase, not both.
type Options struct {
	// Recipients each get a key blob stanza; any kinds may be mixed. A
	// recipient whose exchange key came earlier in the list (the same -r
	// given twice, or a key both on the command line and in a recipients
	// file) gets no second stanza: it would only repeat the first.
	Recipients []*keyblob.Recipient
	// Passphrase, if set, is the only recipient.
	Passphrase []byte
	// Params are the Argon2id costs for Passphrase; nil means
	// password.Defaults. Their salt is ignored: every message gets a new
	// random salt, which is what makes the stanza's fixed nonce safe.
	Params *password.Params
	// Signer, if set, signs the header and the payload.
	Signer *keyblob.Identity
	// Expires, if not zero, is when every opener must refuse the message.
	Expires time.Time
	// Time is the creation time; zero means now.
	Time time.Time
	// SessionKey, if set, is the message's session key, for a caller that
	// must also export it elsewhere (to a backup authority); nil means a
	// new random one. Give a fresh key (keyblob.NewSessionKey) for every
	// message: the message's serial is the key's.
	SessionKey *keyblob.SessionKey
	// Workers seal chunks in parallel; zero or less means one per CPU.
	Workers int
	// Progress, if set, is called by Seal with the number of input bytes
	// done, in order, from one goroutine at a time.
	Progress func(n int)
}

const (
	// signatureContext is the signature context of sealed messages.
	signatureContext = "sealed message"
	// digestPrefix starts the payload digest (spec/sealed.md, 3).
	digestPrefix = "keyblob/v1 sealed payload digest\x00"
)

// newHeader makes the header of a new message sealed with key.
func newHeader(key *keyblob.SessionKey, opts *Options) (*Header, error) {
	if err := checkOptions(opts); err != nil {
		return nil, err
	}
	h := &headerFields{Created: opts.Time, Serial: key.Serial()}
	if h.Created.IsZero() {
		h.Created = time.Now()
	}
	h.Created = h.Created.Truncate(time.Second).UTC()
	if h.Created.Unix() < 0 {
		// The header holds seconds since 1970 as an unsigned number.
		return nil, fmt.Errorf("creation time %s is before 1970", h.Created.Format(time.RFC3339))
	}
	if !opts.Expires.IsZero() {
		h.Expires = opts.Expires.Truncate(time.Second).UTC()
		if !h.Expires.After(h.Created) {
			return nil, errors.New("the expiry must be after the creation time")
		}
	}
	if err := h.setSigner(opts.Signer); err != nil {
		return nil, err
	}
	prefix, err := h.encodePrefix()
	if err != nil {
		return nil, err
	}
	if err := h.addStanzas(key, opts, prefix); err != nil {
		return nil, err
	}
	rand.Read(h.Nonce[:])
	hdr, err := encodeHeader(*h, prefix)
	if err != nil {
		return nil, err
	}
	hdr.mac = hdr.computeMAC(key)
	return hdr, nil
}

func checkOptions(opts *Options) error {
	switch n := len(opts.Recipients); {
	case n == 0 && opts.Passphrase == nil:
		return errors.New("no recipients")
	case n > 0 && opts.Passphrase != nil:
		return errors.New("a passphrase must be the only recipient")
	case n > MaxStanzas:
		return fmt.Errorf("%d recipients, at most %d", n, MaxStanzas)
	case opts.Signer != nil && !opts.Signer.CanSign():
		return keyblob.ErrCannotSign
	}
	return nil
}

func (h *headerFields) setSigner(id *keyblob.Identity) error {
	if id == nil {
		return nil
	}
	r := id.Recipient()
	signer, err := keyblob.ParseSigningKey(r.SignatureAlg(), r.SigningKeyBytes())
	if err != nil {
		return err
	}
	h.Signer, h.SigLen = signer, signer.SignatureSize()
	return nil
}

func (h *headerFields) addStanzas(key *keyblob.SessionKey, opts *Options, prefix []byte) error {
	if opts.Passphrase != nil {
		params := password.New()
		if opts.Params != nil {
			salt := params.Salt
			params = *opts.Params
			params.Salt = salt
		}
		p, err := newPassStanza(opts.Passphrase, params, key, prefix)
		if err != nil {
			return err
		}
		h.Stanzas = []Stanza{{typ: StanzaPassphrase, body: p.encode(), pass: p}}
		return nil
	}
	for _, r := range distinct(opts.Recipients) {
		b, err := keyblob.Export(key, r, &keyblob.ExportOptions{Time: h.Created})
		if err != nil {
			return fmt.Errorf("recipient %s: %w", r.Fingerprint(), err)
		}
		h.Stanzas = append(h.Stanzas, Stanza{typ: StanzaBlob, body: b.Marshal(), blob: b})
	}
	return nil
}

// distinct is rs without the recipients whose exchange key an earlier one
// has, in the order given.
func distinct(rs []*keyblob.Recipient) []*keyblob.Recipient {
	seen := make(map[keyblob.Fingerprint]bool, len(rs))
	var out []*keyblob.Recipient
	for _, r := range rs {
		if r.CanExchange() {
			fp := r.ExchangeFingerprint()
			if seen[fp] {
				continue
			}
			seen[fp] = true
		}
		out = append(out, r)
	}
	return out
}

// newSealing makes the session key, header and payload cipher of a message.
func newSealing(opts *Options) (*Header, *stream.Cipher, error) {
	if opts == nil {
		return nil, nil, errors.New("no options")
	}
	key := opts.SessionKey
	if key == nil {
		key = keyblob.NewSessionKey()
	}
	h, err := newHeader(key, opts)
	if err != nil {
		return nil, nil, err
	}
	c, err := stream.NewCipher(h.payloadKey(key))
	return h, c, err
}

// Writer seals a message as it is written. Close finishes it.
// A Writer is not safe for concurrent use.
type Writer struct {
	h      *Header
	dst    io.Writer
	sw     *stream.Writer
	digest hash.Hash
	signer *keyblob.Identity
	done   bool
}

// NewWriter writes the header of a new message to dst and returns a
// Writer for its plaintext.
func NewWriter(dst io.Writer, opts *Options) (*Writer, error) {
	h, c, err := newSealing(opts)
	if err != nil {
		return nil, err
	}
	if _, err := dst.Write(h.bytes()); err != nil {
		return nil, err
	}
	w := &Writer{h: h, dst: dst, sw: stream.NewWriter(c, dst, opts.Workers), signer: opts.Signer}
	if w.signer != nil {
		w.digest = stream.NewChunkDigest(digestPrefix)
		w.sw.HashTo(w.digest)
	}
	return w, nil
}

// Header returns the message's header.
func (w *Writer) Header() *Header { return w.h }

// Write encrypts p.
func (w *Writer) Write(p []byte) (int, error) { return w.sw.Write(p) }

// Close seals the last chunk and writes the signature, if any. It does not
// close the underlying writer.
func (w *Writer) Close() error {
	if w.done {
		return nil
	}
	w.done = true
	if err := w.sw.Close(); err != nil {
		return err
	}
	return writeTrailer(w.dst, w.h, w.signer, w.digest)
}

// writeTrailer signs the header and payload digest and writes the result.
func writeTrailer(dst io.Writer, h *Header, signer *keyblob.Identity, digest hash.Hash) error {
	sig, err := signature(h, signer, digest)
	if err != nil || sig == nil {
		return err
	}
	_, err = dst.Write(sig)
	return err
}

func signature(hdr *Header, signer *keyblob.Identity, digest hash.Hash) ([]byte, error) {
	if signer == nil {
		return nil, nil
	}
	h := &hdr.f
	sig, err := signer.Sign(signatureContext, hdr.signedMessage(digest))
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	if len(sig) != h.SigLen {
		return nil, fmt.Errorf("signature of %d bytes, the header says %d", len(sig), h.SigLen)
	}
	return sig, nil
}

// Seal seals the plaintext of src into a new message written to dst, and
// returns its header. It reads ahead, seals on the workers and writes at
// the same time, in constant memory; the bytes are the same as through
// NewWriter, whatever src and dst are. On error, what was written to dst
// must be discarded.
func Seal(dst Sink, src Source, opts *Options) (*Header, error) {
	sink := streamSink(dst)
	if streamSource(src).Check() != nil || sink.Check() != nil {
		return nil, errors.New("a Source needs one of R and At, a Sink one of W and At")
	}
	h, c, err := newSealing(opts)
	if err != nil {
		return nil, err
	}
	if err := sink.Put(h.bytes(), 0); err != nil {
		return nil, err
	}
	so := payloadOptions(opts.Workers, opts.Progress, opts.Signer != nil)
	n, err := stream.Seal(c, streamSource(src), sink.From(int64(h.Size())), so)
	if err != nil {
		return nil, err
	}
	sig, err := signature(h, opts.Signer, so.Digest)
	if err != nil || sig == nil {
		return h, err
	}
	return h, sink.Put(sig, int64(h.Size())+n)
}
