package api

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/keyblob/keyblob"
)

// Receipt is an audit entry and the authority's signature of it (spec
// section 6.5), with the signed checkpoint of a log that includes the
// entry and the proof that it does.
type Receipt struct {
	Entry      AuditEntry
	Signature  []byte
	Checkpoint []byte
	Inclusion  tlog.RecordProof
}

func receiptMessage(authority keyblob.Fingerprint, e *AuditEntry) []byte {
	b := append([]byte{}, authority[:]...)
	b = binary.BigEndian.AppendUint64(b, e.Seq)
	return append(b, e.Hash[:]...)
}

// SignReceipt signs e as the authority id (spec section 6.5), and adds
// the signed checkpoint of a log that includes e with the proof that it
// does.
func SignReceipt(id *keyblob.Identity, e AuditEntry, checkpoint []byte, inclusion tlog.RecordProof) (Receipt, error) {
	sig, err := id.Sign(receiptContext, receiptMessage(id.Recipient().Fingerprint(), &e))
	if err != nil {
		return Receipt{}, err
	}
	return Receipt{Entry: e, Signature: sig, Checkpoint: checkpoint, Inclusion: inclusion}, nil
}

// VerifyReceipt checks r's signature with the authority's recipient,
// that its entry's hash is that of its fields after its Prev, and that
// its checkpoint is signed by the authority and includes the entry. It
// returns the checkpoint, which the caller checks against the one it
// saw before (VerifyConsistency), and then that the entry says what it
// asked for.
func VerifyReceipt(authority *keyblob.Recipient, r *Receipt) (Checkpoint, error) {
	if err := verifyEntry(authority, r); err != nil {
		return Checkpoint{}, err
	}
	c, err := OpenCheckpoint(authority, r.Checkpoint)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("the receipt's checkpoint: %w", err)
	}
	return c, VerifyInclusion(c, &r.Entry, r.Inclusion)
}

// verifyEntry checks the signature of r's entry and the entry's hash.
func verifyEntry(authority *keyblob.Recipient, r *Receipt) error {
	if err := authority.Verify(receiptContext, receiptMessage(authority.Fingerprint(), &r.Entry), r.Signature); err != nil {
		return fmt.Errorf("the receipt's signature: %w", err)
	}
	if h, err := ChainHash(r.Entry.Prev, &r.Entry); err != nil || h != r.Entry.Hash {
		return fmt.Errorf("the receipt's entry does not give its hash: %w", keyblob.ErrAuth)
	}
	return nil
}
