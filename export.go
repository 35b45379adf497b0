package keyblob

import (
	"errors"
	"fmt"
	"time"
)

// ErrAuth is the one error for every authentication failure: a blob that
// does not unwrap, or a signature that does not verify. It never says which
// check failed.
var ErrAuth = errors.New("keyblob: authentication failed")

// ErrNotSigned is returned by Import when a signature is required and the
// blob has none.
var ErrNotSigned = errors.New("keyblob: the key blob is not signed")

// ErrWrongSigner is returned by Import and Verify when the blob is signed by
// a different key than the one required.
var ErrWrongSigner = errors.New("keyblob: the key blob is signed by someone else")

// ErrIncorrectIdentity is returned by Import when the blob is wrapped to an
// exchange key other than the identity's.
var ErrIncorrectIdentity = errors.New("keyblob: the key blob is not for this identity")

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
		return nil, fmt.Errorf("keyblob: recipient %s has no exchange key (it can only sign)", to.Fingerprint())
	}
	if err := CheckDescription(opts.Description); err != nil {
		return nil, fmt.Errorf("keyblob: %w", err)
	}
	if opts.Signer != nil && !opts.Signer.CanSign() {
		return nil, ErrCannotSign
	}
	if key.alg != SessionAES256GCM {
		return nil, fmt.Errorf("keyblob: cannot export a session key of %s", key.alg)
	}
	created := opts.Time
	if created.IsZero() {
		created = time.Now()
	}
	if created.Unix() < 0 {
		// A blob holds seconds since 1970 as an unsigned number.
		return nil, fmt.Errorf("keyblob: creation time %s is before 1970", created.UTC().Format(time.RFC3339))
	}
	b := &KeyBlob{
		ExchangeAlg: to.ExchangeAlg(),
		Recipient:   to.ExchangeFingerprint(),
		SessionAlg:  key.alg,
		Serial:      key.serial,
		Created:     created.Truncate(time.Second).UTC(),
		Description: opts.Description,
	}
	wrapped, err := to.exchange.wrap(key.key[:], b.label())
	if err != nil {
		return nil, fmt.Errorf("keyblob: wrapping the session key: %w", err)
	}
	b.Wrapped = wrapped
	if opts.Signer != nil {
		return b, b.Sign(opts.Signer)
	}
	return b, nil
}

// Sign signs the blob with the identity's signature key, replacing any
// earlier signature.
func (b *KeyBlob) Sign(signer *Identity) error {
	if !signer.CanSign() {
		return ErrCannotSign
	}
	b.SignatureAlg = signer.recipient.SignatureAlg()
	b.Signer = signer.recipient.SigningFingerprint()
	sig, err := signer.Sign(blobContext, b.signedBytes())
	if err != nil {
		b.SignatureAlg, b.Signer, b.Signature = SignatureNone, Fingerprint{}, nil
		return fmt.Errorf("keyblob: signing: %w", err)
	}
	b.Signature = sig
	return nil
}

// Verify checks that the blob is signed by signer's signature key. It
// returns ErrNotSigned, ErrWrongSigner, or ErrAuth for a bad signature.
func (b *KeyBlob) Verify(signer *Recipient) error {
	switch {
	case !b.Signed():
		return ErrNotSigned
	case !signer.CanVerify() || !b.Signer.Equal(signer.SigningFingerprint()) ||
		b.SignatureAlg != signer.SignatureAlg():
		return fmt.Errorf("%w (%s), not by %s", ErrWrongSigner, b.Signer, signer.SigningFingerprint())
	}
	return signer.Verify(blobContext, b.signedBytes(), b.Signature)
}

// ImportOptions are the optional parts of Import. The zero value imports
// without requiring a signature.
type ImportOptions struct {
	// Verify, if set, is the only signer accepted: the blob's signature is
	// checked before the private key is used, and an unsigned blob or one
	// signed by anyone else is refused (seed 002).
	Verify *Recipient
}

// Import unwraps the session key with the identity's exchange key
// (CryptImportKey). It returns ErrIncorrectIdentity if the blob is for
// another key, the errors of Verify when opts.Verify is set, and ErrAuth if
// the blob does not unwrap.
func Import(b *KeyBlob, id *Identity, opts *ImportOptions) (*SessionKey, error) {
	if opts != nil && opts.Verify != nil {
		if err := b.Verify(opts.Verify); err != nil {
			return nil, err
		}
	}
	if !id.CanExchange() {
		return nil, ErrCannotExchange
	}
	if !b.Recipient.Equal(id.recipient.ExchangeFingerprint()) {
		return nil, fmt.Errorf("%w: it is for %s, this identity is %s", ErrIncorrectIdentity, b.Recipient, id.recipient.ExchangeFingerprint())
	}
	key, err := id.exchange.unwrap(b.Wrapped, b.label())
	if err != nil || len(key) != SessionKeySize {
		return nil, ErrAuth
	}
	k := &SessionKey{alg: b.SessionAlg, serial: b.Serial, origin: OriginRandom}
	copy(k.key[:], key)
	return k, nil
}
