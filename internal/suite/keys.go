package suite

// ExchangePublic is the public half of an exchange key. Implementations
// are immutable and safe for concurrent use.
type ExchangePublic interface {
	// Suite returns the key's algorithm.
	Suite() *Exchange
	// Bytes returns the canonical encoding; the caller must not change it.
	Bytes() []byte
	// Bits returns the modulus size of an RSA key, 0 for other keys.
	Bits() int
	// Wrap encrypts a session key to the key, bound to label (HPKE info
	// or OAEP label).
	Wrap(key, label []byte) ([]byte, error)
	// MarshalPKIX returns the SubjectPublicKeyInfo DER of the key.
	MarshalPKIX() ([]byte, error)
}

// ExchangePrivate is an exchange key pair.
type ExchangePrivate interface {
	// Public returns the public half.
	Public() ExchangePublic
	// Unwrap reverses Wrap with the same label; any failure is an error
	// that says nothing of its cause.
	Unwrap(wrapped, label []byte) ([]byte, error)
	// MarshalPKCS8 returns the PKCS #8 DER of the key.
	MarshalPKCS8() ([]byte, error)
}

// KEMPublic is implemented by the public keys of the HPKE exchange
// algorithms (Exchange.KEM not nil), for protocols that need a shared
// secret rather than a wrapped key: a channel handshake's key exchange.
type KEMPublic interface {
	// Encapsulate returns a fresh encapsulated key and the 32-byte
	// secret it carries, bound to info; the secret is the HPKE exporter
	// secret of KEMSecretLabel.
	Encapsulate(info []byte) (enc, secret []byte, err error)
}

// KEMPrivate is implemented by the private keys of the HPKE exchange
// algorithms.
type KEMPrivate interface {
	// Decapsulate returns the secret of an Encapsulate to the public key
	// with the same info.
	Decapsulate(enc, info []byte) (secret []byte, err error)
}

// SigningPublic is the public half of a signature key. Implementations
// are immutable and safe for concurrent use.
type SigningPublic interface {
	// Suite returns the key's algorithm.
	Suite() *Signature
	// Bytes returns the canonical encoding; the caller must not change it.
	Bytes() []byte
	// Bits returns the modulus size of an RSA key, 0 for other keys.
	Bits() int
	// SignatureSize returns the size of every signature the key makes.
	SignatureSize() int
	// Verify reports whether sig is a valid signature of msg.
	Verify(msg, sig []byte) bool
	// MarshalPKIX returns the SubjectPublicKeyInfo DER of the key.
	MarshalPKIX() ([]byte, error)
}

// SigningPrivate is a signature key pair.
type SigningPrivate interface {
	// Public returns the public half.
	Public() SigningPublic
	// Sign signs msg.
	Sign(msg []byte) ([]byte, error)
	// MarshalPKCS8 returns the PKCS #8 DER of the key.
	MarshalPKCS8() ([]byte, error)
}

// exchangePublic, exchangePrivate, signingPublic and signingPrivate turn
// a constructor's concrete result into the interface, nil on error: a nil
// pointer in an interface is not a nil interface.
func exchangePublic[K ExchangePublic](k K, err error) (ExchangePublic, error) {
	if err != nil {
		return nil, err
	}
	return k, nil
}

func exchangePrivate[K ExchangePrivate](k K, err error) (ExchangePrivate, error) {
	if err != nil {
		return nil, err
	}
	return k, nil
}

func signingPublic[K SigningPublic](k K, err error) (SigningPublic, error) {
	if err != nil {
		return nil, err
	}
	return k, nil
}
