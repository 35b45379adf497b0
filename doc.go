// Package keyblob moves symmetric session keys safely, after CryptoAPI's
// key blobs: it makes identities (an exchange key pair and a signature key
// pair), session keys (CryptGenKey), and key blobs that carry a session key
// wrapped to a recipient's exchange key, optionally signed
// (CryptExportKey / CryptImportKey). It also encrypts files with a session
// key in a chunked, authenticated stream (Encrypt, EncryptFile, Decrypt,
// DecryptAt), binary or armored (NewEncryptedArmorWriter,
// DearmorEncrypted), reading any Source and writing any Sink: a stream, or
// a file at offsets by parallel workers. Package seal builds sealed
// messages on the same Source, Sink and armor.
//
// For protocols of their own, identities and recipients also offer a KEM
// (Recipient.Encapsulate, Identity.Decapsulate) and the wrapping of a
// 32-byte secret that is not a session key (WrapSecret,
// Identity.UnwrapSecret), each bound to a caller's label and unable to
// open a key blob; the channel and authority packages use them.
//
// Defaults are modern: MLKEM768-X25519 HPKE to exchange, Ed25519 to sign,
// AES-256-GCM to encrypt. X25519 and RSA (OAEP-SHA256 and PSS) identities
// are supported, and standard PKCS #8 keys made by openssl are identities.
//
// The byte formats are specified in the spec/ directory of the module.
package keyblob
