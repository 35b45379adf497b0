package authority

import (
	"context"
	"iter"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority/api"
)

// Entries returns the entries of s in increasing Seq, read page by page,
// for VerifyChain.
func Entries(ctx context.Context, s Store) iter.Seq2[api.AuditEntry, error] {
	return func(yield func(api.AuditEntry, error) bool) {
		var after uint64
		for {
			page, err := s.Audit(ctx, keyblob.Fingerprint{}, after, api.MaxPage)
			if err != nil {
				yield(api.AuditEntry{}, err)
				return
			}
			for _, e := range page {
				if !yield(e, nil) {
					return
				}
			}
			if len(page) < api.MaxPage {
				return
			}
			after = page[len(page)-1].Seq
		}
	}
}
