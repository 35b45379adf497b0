package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority"
	"github.com/keyblob/keyblob/authority/api"
)

// The console's read queries (authority.Reports). Each runs on an index
// of schema version 5: recoveries_by_state, audit_by_kind,
// audit_by_kind_time and owners_by_failures, and audit_by_owner of
// version 1.

// Recoveries reads a page of requests in one state, newest first.
func (s *Store) Recoveries(ctx context.Context, state authority.RecoveryState, before int64, limit int) ([]authority.Recovery, error) {
	if err := authority.CheckPage(limit); err != nil {
		return nil, err
	}
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := s.db.Query(ctx, `SELECT `+recoveryColumns+` FROM recoveries
		WHERE state = $1 AND created < $2 ORDER BY created DESC LIMIT $3`, int64(state), before, int64(limit))
	rs, err := collect(rows, err, scanRecovery)
	if err != nil {
		return nil, err
	}
	for i := range rs {
		rows, err := s.db.Query(ctx, `SELECT operator, time FROM approvals WHERE recovery = $1 ORDER BY seq`, rs[i].ID[:])
		if rs[i].Approvals, err = collect(rows, err, scanApproval); err != nil {
			return nil, err
		}
	}
	return rs, nil
}

// AuditFiltered reads a page of entries matching f, newest first.
func (s *Store) AuditFiltered(ctx context.Context, f authority.AuditFilter, before uint64, limit int) ([]api.AuditEntry, error) {
	if err := authority.CheckPage(limit); err != nil {
		return nil, err
	}
	if before == 0 {
		before = 1<<63 - 1
	}
	where, args := []string{"seq < $1"}, []any{after(before)}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Kind != 0 {
		add("kind = $%d", int64(f.Kind))
	}
	if !f.Owner.IsZero() {
		add("owner = $%d", f.Owner[:])
	}
	if f.Ref != ([16]byte{}) {
		add("ref = $%d", f.Ref[:])
	}
	args = append(args, int64(limit))
	rows, err := s.db.Query(ctx, `SELECT `+auditColumns+` FROM audit WHERE `+strings.Join(where, " AND ")+
		fmt.Sprintf(` ORDER BY seq DESC LIMIT $%d`, len(args)), args...)
	return collect(rows, err, scanAudit)
}

// DailyCounts counts the entries of kinds per UTC day since since.
func (s *Store) DailyCounts(ctx context.Context, since time.Time, kinds []api.AuditKind) ([]authority.DayCount, error) {
	const day = int64(24 * time.Hour) // as in the query
	var out []authority.DayCount
	for _, k := range kinds {
		rows, err := s.db.Query(ctx, `SELECT time / 86400000000000, count(*) FROM audit WHERE kind = $1 AND time >= $2
			GROUP BY time / 86400000000000`, int64(k), nanos(since))
		counts, err := collect(rows, err, scanDayCount)
		if err != nil {
			return nil, err
		}
		for _, c := range counts {
			out = addCount(out, time.Unix(0, c[0]*day).UTC(), k, int(c[1]))
		}
	}
	slices.SortFunc(out, func(a, b authority.DayCount) int { return a.Day.Compare(b.Day) })
	return out, nil
}

func scanDayCount(r Row) ([2]int64, error) {
	var c [2]int64
	err := r.Scan(&c[0], &c[1])
	return c, err
}

// addCount adds n entries of kind k on day d to counts.
func addCount(counts []authority.DayCount, d time.Time, k api.AuditKind, n int) []authority.DayCount {
	for i := range counts {
		if counts[i].Day.Equal(d) {
			counts[i].Counts[k] += n
			return counts
		}
	}
	return append(counts, authority.DayCount{Day: d, Counts: map[api.AuditKind]int{k: n}})
}

// Throttled reads the owners with the most failed code checks.
func (s *Store) Throttled(ctx context.Context, failures int, limit int) ([]authority.Owner, error) {
	if err := authority.CheckPage(limit); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT `+ownerColumns+` FROM owners o WHERE o.failures >= $1
		ORDER BY o.failures DESC LIMIT $2`, int64(max(failures, 1)), int64(limit))
	return collect(rows, err, scanOwner)
}

// OwnerActivity counts an owner's deposits and reads its newest entry.
func (s *Store) OwnerActivity(ctx context.Context, owner keyblob.Fingerprint) (authority.Activity, error) {
	var a authority.Activity
	var n int64
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM owners WHERE id = $1`, owner[:]).Scan(&n); err != nil || n == 0 {
		return a, firstError(err, api.ErrNotFound)
	}
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM deposits WHERE owner = $1`, owner[:]).Scan(&n); err != nil {
		return a, err
	}
	a.Deposits = int(n)
	e, err := scanAudit(s.db.QueryRow(ctx, `SELECT `+auditColumns+` FROM audit WHERE owner = $1
		ORDER BY seq DESC LIMIT 1`, owner[:]))
	if err == nil {
		a.Last = e
	}
	return a, ignoreNoRows(err)
}

func ignoreNoRows(err error) error {
	if errors.Is(err, ErrNoRows) {
		return nil
	}
	return err
}
