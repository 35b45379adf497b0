package format

import "errors"

// The module's root sentinels, here so that every package (the root
// package, seal, keystore, password and internal/*) can use the same
// value; package keyblob re-exports them. Library errors carry no package
// prefix (docs/architecture.md, "Errors").
var (
	// ErrMalformed is wrapped by every error about input that is not a
	// well-formed object: the object-specific sentinels (malformed key
	// blob, recipient line, session key, encrypted file, message header,
	// armor) wrap it, their texts starting with "malformed".
	ErrMalformed = errors.New("malformed")

	// ErrAuth is the one error for every authentication failure: a
	// ciphertext, wrapped key or signature that does not verify. It never
	// says which check failed.
	ErrAuth = errors.New("authentication failed")
)
