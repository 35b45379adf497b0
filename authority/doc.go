// Package authority is keyblob's backup authority (CryptoAPI's "Using a
// Backup Authority"): a service that keeps its clients' session keys as
// key blobs wrapped to its own public key and, once a client has proved
// who it is with its recovery code, re-wraps them to the client's new
// identity. The protocol is specified in spec/escrow-api.md (with the
// OpenAPI document spec/escrow-api.yaml).
//
// This package is the service and what it keeps: Service, whose methods
// are the protocol's operations without HTTP, Handler, which serves them
// over HTTP with metrics, and the Store interface, whose doc comment is
// the storage contract, with the records it keeps (Owner, Deposit,
// Recovery, Approval, Nonce). The wire types, request signing, the audit
// chain and the protocol's errors are package api, which clients share;
// the HTTP client is package client, which imports neither this package
// nor any store. The storage backends are the packages sqlitestore
// (embedded, the default) and pgstore (PostgreSQL, for several instances
// sharing one database); storetest is the conformance suite both pass.
// The package imports no database.
//
// Its errors carry no package prefix, as all of the module's library
// errors.
package authority
