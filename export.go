package keyblob

import (
	"errors"
	"fmt"
	"time"

	"github.com/keyblob/keyblob/internal/format"
)

// ErrAuth is the module's one error for every authentication failure: a
// blob that does not unwrap, a signature that does not verify, an
// encrypted file or sealed message that was modified (seal.ErrAuth is the
// same value). It never says which check failed.
var ErrAuth = format.ErrAuth

// ErrMalformed is wrapped by every error about malformed input: the
// object-specific sentinels (ErrMalformedBlob, ErrMalformedRecipient,
// ErrMalformedSessionKey, ErrMalformedEncryptedFile, seal.ErrMalformed,
// seal.ErrArmor) wrap it.
var ErrMalformed = format.ErrMalformed

// ErrNotSigned is wrapped by the error of Import and Verify when a
// signature is required and the blob has none, and of seal.Open when a
// sender is required and the message is not signed (seal.ErrNotSigned is
// the same value).
var ErrNotSigned = errors.New("not signed")

// ErrWrongSigner is wrapped by the error of Import and Verify when the
// blob is signed by a different key than the one required, and of
// seal.Open when the message is signed by another key than the required
// sender's (seal.ErrWrongSender is the same value).
var ErrWrongSigner = errors.New("signed by someone else")

// ErrIncorrectIdentity is returned by Import when the blob is wrapped to an
// exchange key other than the identity's.
var ErrIncorrectIdentity = errors.New("the key blob is not for this identity")

// ExportOptions are the optional parts of Export. The zero value exports
// an unsigned blob without description, dated now.
type ExportOptions struct {
	// Description is stored in the blob (see CheckDescription).
	Description string
	// Signer, if set, signs the blob (seed 002: sign before storing).
	Signer *Identity
	// Time is the creation time; zero means now. It is kept in seconds.
	Time time.Time
}

// Export wraps the session key to the recipient's exchange key
// (CryptExportKey) and, with opts.Signer, signs the result.
func Export(key *SessionKey, to *Recipient, opts *ExportOptions) (*KeyBlob, error) {
	if opts == nil {
		opts = &ExportOptions{}
	}
	if !to.CanExchange() {
		return nil, fmt.Errorf("recipient %s has no exchange key (it can only sign)", to.Fingerprint())
	}
	if err := CheckDescription(opts.Description); err != nil {
		return nil, err
	}
	if opts.Signer != nil && !opts.Signer.CanSign() {
		return nil, ErrCannotSign
	}
	if key.alg != SessionAES256GCM {
		return nil, fmt.Errorf("cannot export a session key of %s", key.alg)
	}
	created := opts.Time
	if created.IsZero() {
		created = time.Now()
	}
	if created.Unix() < 0 {
		// A blob holds seconds since 1970 as an unsigned number.
		return nil, fmt.Errorf("creation time %s is before 1970", created.UTC().Format(time.RFC3339))
	}
	f := blobFields{
		exchangeAlg: to.ExchangeAlg(),
		recipient:   to.ExchangeFingerprint(),
		sessionAlg:  key.alg,
		serial:      key.serial,
		created:     created.Truncate(time.Second).UTC(),
		description: opts.Description,
	}
	if opts.Signer != nil {
		// The signer is part of the header, so it is bound into the wrap:
		// a blob re-signed or stripped by anyone else no longer unwraps.
		f.signerKey = opts.Signer.recipient.signingOnly()
	}
	if err := f.wrapAndSign(key, to, opts.Signer); err != nil {
		return nil, err
	}
	return newKeyBlob(f)
}

// wrapAndSign fills in the wrapped key and, if signer is not nil, the
// signature.
func (f *blobFields) wrapAndSign(key *SessionKey, to *Recipient, signer *Identity) error {
	if err := f.checkHeader(); err != nil {
		return err
	}
	wrapped, err := to.exchange.Wrap(key.key[:], f.label())
	if err != nil {
		return fmt.Errorf("wrapping the session key: %w", err)
	}
	f.wrapped = wrapped
	if signer != nil {
		if f.signature, err = signer.Sign(blobContext, f.signedBytes()); err != nil {
			return fmt.Errorf("signing: %w", err)
		}
	}
	return nil
}

// Verify checks that the blob is signed by signer's signature key. It
// returns ErrNotSigned, ErrWrongSigner, or ErrAuth for a bad signature.
func (b *KeyBlob) Verify(signer *Recipient) error {
	switch {
	case !b.Signed():
		return fmt.Errorf("the key blob is %w", ErrNotSigned)
	case !signer.CanVerify() || !b.Signer().Equal(signer.SigningFingerprint()):
		return fmt.Errorf("the key blob is %w (%s), not by %s", ErrWrongSigner, b.Signer(), signer.SigningFingerprint())
	}
	return b.verifySignature()
}

// verifySignature checks the signature with the signer key the blob
// carries. It says nothing about who that key belongs to.
func (b *KeyBlob) verifySignature() error {
	return b.f.signerKey.Verify(blobContext, b.f.signedBytes(), b.f.signature)
}

// ImportOptions are the optional parts of Import. The zero value imports
// without requiring a particular signer.
type ImportOptions struct {
	// Verify, if set, is the only signer accepted: the blob's signature is
	// checked before the private key is used, and an unsigned blob or one
	// signed by anyone else is refused (CryptoAPI's "Storing Session
	// Keys": validate the signature before use).
	Verify *Recipient
}

// Import unwraps the session key with the identity's exchange key
// (CryptImportKey). A signed blob's signature is always checked first,
// with or without opts.Verify, and a signature that does not verify fails
// the import. It returns ErrIncorrectIdentity if the blob is for another
// key, the errors of Verify when opts.Verify is set, and ErrAuth if the
// signature does not verify or the blob does not unwrap. Without
// opts.Verify, a valid signature only says that the holder of
// b.SignerKey() made the blob, not who that is.
func Import(b *KeyBlob, id *Identity, opts *ImportOptions) (*SessionKey, error) {
	if err := b.checkSigner(opts); err != nil {
		return nil, err
	}
	if !id.CanExchange() {
		return nil, ErrCannotExchange
	}
	if !b.f.recipient.Equal(id.recipient.ExchangeFingerprint()) {
		return nil, fmt.Errorf("%w: it is for %s, this identity is %s", ErrIncorrectIdentity, b.f.recipient, id.recipient.ExchangeFingerprint())
	}
	key, err := id.exchange.Unwrap(b.f.wrapped, b.f.label())
	if err != nil || len(key) != SessionKeySize {
		return nil, ErrAuth
	}
	k := &SessionKey{alg: b.f.sessionAlg, serial: b.f.serial, origin: originRandom}
	copy(k.key[:], key)
	return k, nil
}

// checkSigner is step 1 of an import: the required signer if there is one,
// else the blob's own signature if it has one.
func (b *KeyBlob) checkSigner(opts *ImportOptions) error {
	switch {
	case opts != nil && opts.Verify != nil:
		return b.Verify(opts.Verify)
	case b.Signed():
		return b.verifySignature()
	}
	return nil
}
