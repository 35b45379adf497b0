package api

import (
	"encoding/binary"
	"fmt"

	"github.com/keyblob/keyblob"
)

// Receipt is an audit entry and the authority's signature of it (spec
// section 6.5).
type Receipt struct {
	Entry     AuditEntry
	Signature []byte
}

func receiptMessage(authority keyblob.Fingerprint, e *AuditEntry) []byte {
	b := append([]byte{}, authority[:]...)
	b = binary.BigEndian.AppendUint64(b, e.Seq)
	return append(b, e.Hash[:]...)
}

// SignReceipt signs e as the authority id (spec section 6.5).
func SignReceipt(id *keyblob.Identity, e AuditEntry) (Receipt, error) {
	sig, err := id.Sign(receiptContext, receiptMessage(id.Recipient().Fingerprint(), &e))
	if err != nil {
		return Receipt{}, err
	}
	return Receipt{Entry: e, Signature: sig}, nil
}

// VerifyReceipt checks r's signature with the authority's recipient and
// that its entry's hash is that of its fields after its Prev. The caller
// then checks that the entry says what it asked for.
func VerifyReceipt(authority *keyblob.Recipient, r *Receipt) error {
	if err := authority.Verify(receiptContext, receiptMessage(authority.Fingerprint(), &r.Entry), r.Signature); err != nil {
		return fmt.Errorf("the receipt's signature: %w", err)
	}
	if h, err := ChainHash(r.Entry.Prev, &r.Entry); err != nil || h != r.Entry.Hash {
		return fmt.Errorf("the receipt's entry does not give its hash: %w", keyblob.ErrAuth)
	}
	return nil
}
