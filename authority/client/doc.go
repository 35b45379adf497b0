// Package client is an HTTP client of a keyblob backup authority
// (spec/escrow-api.md): it enrols an identity, deposits session keys,
// lists deposits and the audit log, and recovers keys to a new identity,
// checking every receipt and re-wrapped blob with the authority's
// recipient.
//
// It imports the protocol (package api) and net/http only: neither the
// service (package authority), nor any store, nor prometheus.
package client
