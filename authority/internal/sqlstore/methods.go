package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority"
	"github.com/keyblob/keyblob/authority/api"
)

// UseNonce inserts the nonce; a second use is authority.ErrReplay.
func (s *Store) UseNonce(ctx context.Context, n authority.Nonce) error {
	if err := n.Validate(); err != nil {
		return err
	}
	return s.write(ctx, func(tx Tx) error { return useNonce(ctx, tx, n) })
}

// useNonce inserts the nonce in tx, or reports authority.ErrReplay.
func useNonce(ctx context.Context, tx Tx, n authority.Nonce) error {
	inserted, err := tx.Exec(ctx, `INSERT INTO nonces (signer, nonce, expires) VALUES ($1, $2, $3)
		ON CONFLICT DO NOTHING`, n.Signer[:], n.Value[:], nanos(n.Expires))
	if err == nil && inserted == 0 {
		return api.ErrReplay
	}
	return err
}

// PurgeNonces deletes the nonces that expired before before.
func (s *Store) PurgeNonces(ctx context.Context, before time.Time) error {
	return s.write(ctx, func(tx Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM nonces WHERE expires < $1`, nanos(before))
		return err
	})
}

// CreateOwner inserts the owner and its first binding.
func (s *Store) CreateOwner(ctx context.Context, o authority.Owner, e api.AuditEntry) (api.AuditEntry, error) {
	if err := o.Validate(); err != nil {
		return api.AuditEntry{}, err
	}
	if o.ID != o.Signer {
		return api.AuditEntry{}, fmt.Errorf("%w: a new owner's id is its signer", api.ErrInvalid)
	}
	return s.audited(ctx, e, func(tx Tx) error {
		n, err := tx.Exec(ctx, `INSERT INTO owners (id, recipient, signer, verifier, failures, last_failure, created, version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 1) ON CONFLICT DO NOTHING`,
			o.ID[:], text(o.Recipient), o.Signer[:], o.Verifier, int64(o.Failures), optionalNanos(o.LastFailure), nanos(o.Created))
		if err == nil && n == 1 {
			n, err = bind(ctx, tx, o.Signer, o.ID)
		}
		if err == nil && n == 0 {
			return authority.ErrExists
		}
		return err
	}, nil)
}

// bind binds the signature key to the owner, unless it is bound.
func bind(ctx context.Context, tx Tx, key, owner keyblob.Fingerprint) (int64, error) {
	return tx.Exec(ctx, `INSERT INTO identities (fingerprint, owner) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
		key[:], owner[:])
}

// Owner finds the owner key is, or was, bound to.
func (s *Store) Owner(ctx context.Context, key keyblob.Fingerprint) (authority.Owner, error) {
	o, err := scanOwner(s.db.QueryRow(ctx, `SELECT `+ownerColumns+`
		FROM identities i JOIN owners o ON o.id = i.owner WHERE i.fingerprint = $1`, key[:]))
	return o, notFound(err)
}

// notFound turns ErrNoRows into authority.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, ErrNoRows) {
		return api.ErrNotFound
	}
	return err
}

// UpdateOwner swaps the owner's verifier and failure count.
func (s *Store) UpdateOwner(ctx context.Context, o authority.Owner, e api.AuditEntry) (api.AuditEntry, error) {
	if err := o.Validate(); err != nil {
		return api.AuditEntry{}, err
	}
	return s.audited(ctx, e, func(tx Tx) error { return swapOwner(ctx, tx, o) }, nil)
}

// swapOwner stores o's verifier, failure count and time if the stored owner is
// at o.Version with o.Signer.
func swapOwner(ctx context.Context, tx Tx, o authority.Owner) error {
	n, err := tx.Exec(ctx, `UPDATE owners SET verifier = $1, failures = $2, last_failure = $3, version = version + 1
		WHERE id = $4 AND version = $5 AND signer = $6`,
		o.Verifier, int64(o.Failures), optionalNanos(o.LastFailure), o.ID[:], o.Version, o.Signer[:])
	if err != nil {
		return err
	}
	return one(ctx, tx, n, `SELECT 1 FROM owners WHERE id = $1`, o.ID[:])
}

// PutDeposit inserts the nonce and the deposit, numbered by its audit
// entry.
func (s *Store) PutDeposit(ctx context.Context, n authority.Nonce, d authority.Deposit, e api.AuditEntry) (api.AuditEntry, error) {
	if err := firstError(n.Validate(), d.Validate()); err != nil {
		return api.AuditEntry{}, err
	}
	return s.audited(ctx, e, func(tx Tx) error {
		if err := useNonce(ctx, tx, n); err != nil {
			return err
		}
		var signer []byte
		err := tx.QueryRow(ctx, `SELECT signer FROM owners WHERE id = $1`, d.Owner[:]).Scan(&signer)
		switch {
		case err != nil:
			return notFound(err)
		case string(signer) != string(d.Signer[:]):
			return authority.ErrConflict
		}
		n, err := tx.Exec(ctx, `INSERT INTO deposits (owner, serial, description, blob, signer, created, deposited)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
			d.Owner[:], d.Serial[:], text(d.Description), d.Blob, d.Signer[:], nanos(d.Created), nanos(d.Deposited))
		if err == nil && n == 0 {
			return authority.ErrExists
		}
		return err
	}, func(tx Tx, e api.AuditEntry) error {
		_, err := tx.Exec(ctx, `UPDATE deposits SET seq = $1 WHERE owner = $2 AND serial = $3`,
			int64(e.Seq), d.Owner[:], d.Serial[:])
		return err
	})
}

// Deposit reads one deposit.
func (s *Store) Deposit(ctx context.Context, owner keyblob.Fingerprint, serial keyblob.Serial) (authority.Deposit, error) {
	d, err := scanDeposit(s.db.QueryRow(ctx, `SELECT `+depositColumns+` FROM deposits
		WHERE owner = $1 AND serial = $2`, owner[:], serial[:]))
	return d, notFound(err)
}

// Deposits reads a page of an owner's deposits.
func (s *Store) Deposits(ctx context.Context, owner keyblob.Fingerprint, afterSeq uint64, limit int) ([]authority.Deposit, error) {
	if err := authority.CheckPage(limit); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT `+depositColumns+` FROM deposits
		WHERE owner = $1 AND seq > $2 ORDER BY seq LIMIT $3`, owner[:], after(afterSeq), int64(limit))
	return collect(rows, err, scanDeposit)
}
