// Package authority is keyblob's backup authority (CryptoAPI's "Using a
// Backup Authority"): a service that keeps its clients' session keys as
// key blobs wrapped to its own public key and, once a client has proved
// who it is with its recovery code, re-wraps them to the client's new
// identity. The protocol is specified in spec/escrow-api.md (with the
// OpenAPI document spec/escrow-api.yaml).
//
// This package holds what every part of the service shares: the Store
// interface, whose doc comment is the storage contract, the records it
// keeps (Owner, Deposit, Recovery, Approval, Nonce, AuditEntry), its
// sentinel errors, and the audit log's hash chain (AuditEntry.Chain,
// VerifyChain). The storage backends are the packages sqlitestore
// (embedded, the default) and pgstore (PostgreSQL, for several instances
// sharing one database); storetest is the conformance suite both pass.
// The package imports no database and no net/http.
//
// Its errors carry no package prefix, as all of the module's library
// errors.
package authority
