// Package cert lets an X.509 certificate authority vouch for keyblob
// identities (spec/cert.md): a certificate whose subject public key is an
// identity's signature key and whose recipient extension carries the
// identity's recipient line, so that the CA's signature covers the
// exchange key too, a post-quantum hybrid one included.
//
// Request makes the PKCS #10 request an identity sends to a CA (openssl
// `x509 -req -copy_extensions copyall` issues from it); NewCA and Issue
// are a small built-in CA; CreateCRL revokes. ParseChain, ParseRequest and
// ParseCRL read PEM or DER, bounded. Verify is crypto/x509's chain
// building (validity, name, extended key usage, path length), revocation
// by CRLs, and the checks of the recipient extension; it returns the
// certified Recipient.
//
// Using a verified certificate in a protocol: Verify proves that the CA
// names Verified.Recipient; the peer must still prove it holds that key.
// Compare the key a handshake or a signature proved with
// Verified.Recipient (Recipient.Equal, or SigningFingerprint for a
// signature key alone), never just accept the certificate.
//
// Errors are of a few classes, each a sentinel for errors.Is
// (ErrExpired, ErrNotYetValid, ErrWrongName, ErrUnknownAuthority,
// ErrNotCA, ErrUsage, ErrRevoked, ErrCRL, ErrExtension, ErrMalformed),
// some with a type carrying the details (*ValidityError, *NameError,
// *RevokedError), found with errors.As.
package cert
