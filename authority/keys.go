package authority

import (
	"context"
	"errors"
	"fmt"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority/api"
)

type releaseDetail struct {
	Serials []string `json:"serials"`
}

// RecoveredKeys releases a page of the keys of the completed recovery id
// (spec section 7.11), re-wrapped to its new identity, which must sign r.
// The raw keys never leave the service. It returns ErrNotFound or
// ErrKeysUnavailable.
func (s *Service) RecoveredKeys(ctx context.Context, r *api.Request, id api.RequestID, after uint64, limit int) ([]api.RecoveredKey, error) {
	rec, to, err := s.ownRecovery(ctx, r, id)
	if err != nil {
		return nil, err
	}
	if err := s.releasable(ctx, rec); err != nil {
		return nil, err
	}
	ds, err := s.recoveredDeposits(ctx, rec, after, limit)
	if err != nil {
		return nil, err
	}
	keys := make([]api.RecoveredKey, 0, len(ds))
	serials := make([]string, 0, len(ds))
	for _, d := range ds {
		k, err := s.rewrap(d, to)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
		serials = append(serials, d.Serial.String())
	}
	if len(keys) == 0 {
		return keys, nil
	}
	e, err := s.entry(api.AuditRelease, rec.Owner, rec.ToSigner, rec.ID, releaseDetail{serials})
	if err != nil {
		return nil, err
	}
	if _, err := s.store.AppendAudit(ctx, e); err != nil {
		return nil, storeErr(err)
	}
	return keys, nil
}

func (s *Service) releasable(ctx context.Context, rec Recovery) error {
	if rec.State != RecoveryCompleted || !s.now().Before(rec.Expires) {
		return api.ErrKeysUnavailable
	}
	o, err := s.store.Owner(ctx, rec.Owner)
	if err != nil {
		return storeErr(err)
	}
	if o.Signer != rec.ToSigner {
		return api.ErrKeysUnavailable
	}
	return nil
}

func (s *Service) recoveredDeposits(ctx context.Context, rec Recovery, after uint64, limit int) ([]Deposit, error) {
	if rec.Serial == nil {
		ds, err := s.store.Deposits(ctx, rec.Owner, after, limit)
		return ds, storeErr(err)
	}
	d, err := s.store.Deposit(ctx, rec.Owner, *rec.Serial)
	switch {
	case errors.Is(err, api.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, storeErr(err)
	case d.Seq <= after:
		return nil, nil
	}
	return []Deposit{d}, nil
}

// rewrap imports a stored blob with the authority's identity, checking
// its signer, and exports the key to the new identity.
func (s *Service) rewrap(d Deposit, to *keyblob.Recipient) (api.RecoveredKey, error) {
	b, err := keyblob.ParseKeyBlob(d.Blob)
	if err != nil || b.Signer() != d.Signer {
		return api.RecoveredKey{}, fmt.Errorf("%w: stored blob %s does not parse or has another signer", api.ErrInternal, d.Serial)
	}
	key, err := keyblob.Import(b, s.id, &keyblob.ImportOptions{Verify: b.SignerKey()})
	if err != nil {
		return api.RecoveredKey{}, fmt.Errorf("%w: stored blob %s does not import: %v", api.ErrInternal, d.Serial, err)
	}
	out, err := keyblob.Export(key, to, &keyblob.ExportOptions{Description: d.Description, Signer: s.id, Time: b.Created()})
	if err != nil {
		return api.RecoveredKey{}, fmt.Errorf("%w: re-wrapping %s: %v", api.ErrInternal, d.Serial, err)
	}
	return api.RecoveredKey{Seq: d.Seq, Serial: d.Serial, Description: d.Description,
		Created: d.Created, Deposited: d.Deposited, Blob: out}, nil
}
