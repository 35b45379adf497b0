package keyblob

import "bytes"

// Accessors that only the tests use: a KeyBlob's Marshal carries every
// byte, Verify checks the signature, and Params tells a derived session
// key from a random one.

// Wrapped returns a copy of the wrapped session key.
func (b *KeyBlob) Wrapped() []byte { return bytes.Clone(b.f.wrapped) }

// Signature returns a copy of the signature, or nil if the blob is
// unsigned.
func (b *KeyBlob) Signature() []byte { return bytes.Clone(b.f.signature) }

// Origin returns how the key was made.
func (k *SessionKey) Origin() keyOrigin { return k.origin }
