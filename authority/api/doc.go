// Package api is the backup authority's protocol (spec/escrow-api.md and
// spec/escrow-api.yaml), shared by the service and its clients: the wire
// types of version 1 and their strict decoding (DecodeJSON), request
// signing and its headers (Auth, SignRequest, VerifyRequest), the
// recovery code and its sealing to the authority (RecoveryCode,
// SealCode), the audit log's entries and hash chain (AuditEntry,
// ChainHash, VerifyChain), signed receipts (Receipt, VerifyReceipt), the
// protocol's bounds, and its outcomes with their statuses and codes
// (errors.go, Outcome, ErrorOf).
//
// It imports no store, no service and no metrics, so that a program that
// only speaks the protocol links none of them. Its errors carry no
// package prefix, as all of the module's library errors.
package api
