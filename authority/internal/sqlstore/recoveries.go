package sqlstore

import (
	"bytes"
	"context"
	"fmt"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority"
	"github.com/keyblob/keyblob/authority/api"
)

// CreateRecovery swaps the owner's counters and inserts the request.
func (s *Store) CreateRecovery(ctx context.Context, r authority.Recovery, o authority.Owner, e api.AuditEntry) (api.AuditEntry, error) {
	if err := firstError(r.Validate(), o.Validate(), sameOwner(&r, &o)); err != nil {
		return api.AuditEntry{}, err
	}
	if r.State != authority.RecoveryPending {
		return api.AuditEntry{}, fmt.Errorf("%w: a new recovery request is pending", api.ErrInvalid)
	}
	var serial any // NULL for every key
	if r.Serial != nil {
		serial = r.Serial[:]
	}
	return s.audited(ctx, e, func(tx Tx) error {
		if err := swapOwner(ctx, tx, o); err != nil {
			return err
		}
		n, err := tx.Exec(ctx, `INSERT INTO recoveries (`+recoveryColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, 1, $10, $11, $12, $13) ON CONFLICT DO NOTHING`,
			r.ID[:], r.Owner[:], r.OldSigner[:], text(r.To), r.ToSigner[:], serial,
			int64(r.State), nanos(r.Created), nanos(r.Expires), nanos(r.Completable),
			int64(r.Policy), int64(r.Quorum), joinKeys(r.Operators))
		if err == nil && n == 0 {
			return authority.ErrExists
		}
		return err
	}, nil)
}

func sameOwner(r *authority.Recovery, o *authority.Owner) error {
	if r.Owner != o.ID {
		return fmt.Errorf("%w: the recovery request is for another owner", api.ErrInvalid)
	}
	return nil
}

// Recovery reads a request and its approvals.
func (s *Store) Recovery(ctx context.Context, id api.RequestID) (authority.Recovery, error) {
	r, err := scanRecovery(s.db.QueryRow(ctx, `SELECT `+recoveryColumns+` FROM recoveries WHERE id = $1`, id[:]))
	if err != nil {
		return r, notFound(err)
	}
	rows, err := s.db.Query(ctx, `SELECT operator, time FROM approvals WHERE recovery = $1 ORDER BY seq`, id[:])
	r.Approvals, err = collect(rows, err, scanApproval)
	return r, err
}

func scanApproval(r Row) (authority.Approval, error) {
	var a authority.Approval
	var operator []byte
	var t int64
	if err := r.Scan(&operator, &t); err != nil {
		return a, err
	}
	a.Time = fromNanos(t)
	return a, fixed(a.Operator[:], operator, "operator")
}

// AddApproval inserts an operator's approval of a pending request.
func (s *Store) AddApproval(ctx context.Context, id api.RequestID, a authority.Approval, e api.AuditEntry) (api.AuditEntry, error) {
	if err := a.Validate(); err != nil {
		return api.AuditEntry{}, err
	}
	return s.audited(ctx, e, func(tx Tx) error {
		var state int64
		err := tx.QueryRow(ctx, `SELECT state FROM recoveries WHERE id = $1`, id[:]).Scan(&state)
		switch {
		case err != nil:
			return notFound(err)
		case authority.RecoveryState(state) != authority.RecoveryPending:
			return authority.ErrConflict
		}
		n, err := tx.Exec(ctx, `INSERT INTO approvals (recovery, operator, time) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, id[:], a.Operator[:], nanos(a.Time))
		if err == nil && n == 0 {
			return authority.ErrExists
		}
		return err
	}, func(tx Tx, e api.AuditEntry) error {
		_, err := tx.Exec(ctx, `UPDATE approvals SET seq = $1 WHERE recovery = $2 AND operator = $3`,
			int64(e.Seq), id[:], a.Operator[:])
		return err
	})
}

// CompleteRecovery completes the request and re-binds its owner.
func (s *Store) CompleteRecovery(ctx context.Context, r authority.Recovery, o authority.Owner, e api.AuditEntry) (api.AuditEntry, error) {
	if err := firstError(r.Validate(), o.Validate(), sameOwner(&r, &o)); err != nil {
		return api.AuditEntry{}, err
	}
	if r.State != authority.RecoveryCompleted {
		return api.AuditEntry{}, fmt.Errorf("%w: a completed recovery request is completed", api.ErrInvalid)
	}
	return s.audited(ctx, e, func(tx Tx) error {
		if err := endRecovery(ctx, tx, &r); err != nil {
			return err
		}
		return rebind(ctx, tx, o)
	}, nil)
}

// endRecovery moves the pending request r, at r.Version, to r.State
// (completed or cancelled) at r.Completed.
func endRecovery(ctx context.Context, tx Tx, r *authority.Recovery) error {
	n, err := tx.Exec(ctx, `UPDATE recoveries SET state = $1, completed = $2, version = version + 1
		WHERE id = $3 AND version = $4 AND state = $5 AND owner = $6`,
		int64(r.State), nanos(r.Completed), r.ID[:], r.Version, int64(authority.RecoveryPending), r.Owner[:])
	if err != nil {
		return err
	}
	return one(ctx, tx, n, `SELECT 1 FROM recoveries WHERE id = $1`, r.ID[:])
}

// CancelRecovery marks the pending request cancelled.
func (s *Store) CancelRecovery(ctx context.Context, r authority.Recovery, e api.AuditEntry) (api.AuditEntry, error) {
	if err := r.Validate(); err != nil {
		return api.AuditEntry{}, err
	}
	if r.State != authority.RecoveryCancelled {
		return api.AuditEntry{}, fmt.Errorf("%w: a cancelled recovery request is cancelled", api.ErrInvalid)
	}
	return s.audited(ctx, e, func(tx Tx) error { return endRecovery(ctx, tx, &r) }, nil)
}

// rebind stores o's binding and counters if the stored owner is at
// o.Version, and binds its new signer.
func rebind(ctx context.Context, tx Tx, o authority.Owner) error {
	var current []byte
	if err := tx.QueryRow(ctx, `SELECT signer FROM owners WHERE id = $1`, o.ID[:]).Scan(&current); err != nil {
		return notFound(err)
	}
	keeps := bytes.Equal(current, o.Signer[:]) // a recovery to the current identity
	n, err := tx.Exec(ctx, `UPDATE owners SET recipient = $1, signer = $2, verifier = $3, failures = $4,
		last_failure = $5, version = version + 1 WHERE id = $6 AND version = $7`,
		text(o.Recipient), o.Signer[:], o.Verifier, int64(o.Failures), optionalNanos(o.LastFailure), o.ID[:], o.Version)
	if err != nil {
		return err
	}
	if err := one(ctx, tx, n, `SELECT 1 FROM owners WHERE id = $1`, o.ID[:]); err != nil || keeps {
		return err
	}
	n, err = bind(ctx, tx, o.Signer, o.ID)
	if err == nil && n == 0 {
		return authority.ErrExists
	}
	return err
}

// AppendAudit appends an entry on its own.
func (s *Store) AppendAudit(ctx context.Context, e api.AuditEntry) (api.AuditEntry, error) {
	return s.audited(ctx, e, func(Tx) error { return nil }, nil)
}

// Audit reads a page of the log, or of one owner's entries.
func (s *Store) Audit(ctx context.Context, owner keyblob.Fingerprint, afterSeq uint64, limit int) ([]api.AuditEntry, error) {
	if err := authority.CheckPage(limit); err != nil {
		return nil, err
	}
	if owner.IsZero() {
		rows, err := s.db.Query(ctx, `SELECT `+auditColumns+` FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2`,
			after(afterSeq), int64(limit))
		return collect(rows, err, scanAudit)
	}
	rows, err := s.db.Query(ctx, `SELECT `+auditColumns+` FROM audit WHERE owner = $1 AND seq > $2
		ORDER BY seq LIMIT $3`, owner[:], after(afterSeq), int64(limit))
	return collect(rows, err, scanAudit)
}

// Policy reads the recovery policy of version v, the newest for 0.
func (s *Store) Policy(ctx context.Context, v uint64) (authority.Policy, error) {
	if v == 0 {
		p, err := scanPolicy(s.db.QueryRow(ctx, `SELECT `+policyColumns+` FROM policies ORDER BY version DESC LIMIT 1`))
		return p, notFound(err)
	}
	p, err := scanPolicy(s.db.QueryRow(ctx, `SELECT `+policyColumns+` FROM policies WHERE version = $1`, int64(v)))
	return p, notFound(err)
}

// SetPolicy inserts p if it is the next version.
func (s *Store) SetPolicy(ctx context.Context, p authority.Policy, e api.AuditEntry) (api.AuditEntry, error) {
	if err := p.Validate(); err != nil {
		return api.AuditEntry{}, err
	}
	return s.audited(ctx, e, func(tx Tx) error {
		n, err := tx.Exec(ctx, `INSERT INTO policies (`+policyColumns+`)
			SELECT $1, $2, $3, $4, $5 WHERE $1 = (SELECT COALESCE(MAX(version), 0) + 1 FROM policies)
			ON CONFLICT DO NOTHING`,
			int64(p.Version), int64(p.Quorum), joinKeys(p.Operators), int64(p.Delay), nanos(p.Set))
		if err == nil && n == 0 {
			return authority.ErrConflict
		}
		return err
	}, nil)
}
