package api

import (
	"encoding/binary"
	"fmt"

	"github.com/keyblob/keyblob"
)

// pageContext separates the signature of an audit page from every other
// signature of the authority's key (spec/escrow-api.md section 6.9).
const pageContext = "escrow audit page"

// PageClaim is what the authority signs of a page of an owner's audit
// entries (spec section 6.9): that the entries are every entry about
// Owner with a sequence number in (After, Through], in the log of
// Checkpoint, answering the request of Signer with Nonce. The signature
// stops anyone between the two from dropping entries, and from
// answering with an older page.
type PageClaim struct {
	Signer     keyblob.Fingerprint
	Nonce      [16]byte
	Owner      keyblob.Fingerprint
	After      uint64
	Through    uint64
	Checkpoint Checkpoint
}

// pageMessage is the signed message: the authority, the claim, then the
// sequence number and hash of each entry in order.
func pageMessage(authority keyblob.Fingerprint, c *PageClaim, es []AuditEntry) []byte {
	b := append([]byte{}, authority[:]...)
	b = append(b, c.Signer[:]...)
	b = append(b, c.Nonce[:]...)
	b = append(b, c.Owner[:]...)
	b = binary.BigEndian.AppendUint64(b, c.After)
	b = binary.BigEndian.AppendUint64(b, c.Through)
	b = binary.BigEndian.AppendUint64(b, c.Checkpoint.Size)
	b = append(b, c.Checkpoint.Root[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(es)))
	for i := range es {
		b = binary.BigEndian.AppendUint64(b, es[i].Seq)
		b = append(b, es[i].Hash[:]...)
	}
	return b
}

// SignPage signs the claim c about es as the authority id. It refuses a
// claim the entries do not fit (CheckPage).
func SignPage(id *keyblob.Identity, c *PageClaim, es []AuditEntry) ([]byte, error) {
	if err := CheckPage(c, es); err != nil {
		return nil, err
	}
	return id.Sign(pageContext, pageMessage(id.Recipient().Fingerprint(), c, es))
}

// VerifyPage checks the authority's signature sig of the claim c about
// es, and that the entries fit the claim (CheckPage). It does not check
// the entries' hashes or their inclusion in c.Checkpoint: the caller
// does, and checks Signer and Nonce against the request it sent.
func VerifyPage(authority *keyblob.Recipient, c *PageClaim, es []AuditEntry, sig []byte) error {
	if err := CheckPage(c, es); err != nil {
		return err
	}
	if err := authority.Verify(pageContext, pageMessage(authority.Fingerprint(), c, es), sig); err != nil {
		return fmt.Errorf("the audit page's signature: %w", err)
	}
	return nil
}

// CheckPage reports ErrMalformed unless every entry is about c.Owner,
// their sequence numbers increase within (c.After, c.Through], and
// Through is at most the checkpoint's size (or After, for a page after
// the whole log).
func CheckPage(c *PageClaim, es []AuditEntry) error {
	if c.Through < c.After || c.Through > max(c.After, c.Checkpoint.Size) {
		return fmt.Errorf("%w audit page: entries through %d after %d in a log of %d", keyblob.ErrMalformed, c.Through, c.After, c.Checkpoint.Size)
	}
	last := c.After
	for i := range es {
		e := &es[i]
		if e.Owner != c.Owner || e.Seq <= last || e.Seq > c.Through {
			return fmt.Errorf("%w audit page: entry %d is out of place", keyblob.ErrMalformed, e.Seq)
		}
		last = e.Seq
	}
	return nil
}
