package sqlstore

import (
	"database/sql"
	"fmt"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority"
	"github.com/keyblob/keyblob/authority/api"
)

// Columns are stored in the types both databases share: BLOB/BYTEA for
// every string and byte string (so that NUL and invalid UTF-8 round-trip),
// and INTEGER/BIGINT for counts and times, as nanoseconds since 1970.

// text returns s as a non-nil byte slice: a nil slice would be NULL.
func text(s string) []byte { return append(make([]byte, 0, len(s)), s...) }

// nanos returns t in nanoseconds since 1970; the records' Validate keeps
// t within int64.
func nanos(t time.Time) int64 { return t.UnixNano() }

// optionalNanos is nanos, with 0 for the zero time (none).
func optionalNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNanos returns the time of ns nanoseconds since 1970, in UTC.
func fromNanos(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// fixed copies a fixed-size column into dst, refusing another size.
func fixed(dst, src []byte, what string) error {
	if len(src) != len(dst) {
		return fmt.Errorf("corrupt database: %s of %d bytes, want %d", what, len(src), len(dst))
	}
	copy(dst, src)
	return nil
}

const ownerColumns = `o.id, o.recipient, o.signer, o.verifier, o.failures, o.last_failure, o.created, o.version`

func scanOwner(r Row) (authority.Owner, error) {
	var o authority.Owner
	var id, signer, recipient []byte
	var created, failures, lastFailure int64
	if err := r.Scan(&id, &recipient, &signer, &o.Verifier, &failures, &lastFailure, &created, &o.Version); err != nil {
		return o, err
	}
	o.Recipient, o.Failures, o.Created = string(recipient), int(failures), fromNanos(created)
	if lastFailure != 0 {
		o.LastFailure = fromNanos(lastFailure)
	}
	return o, firstError(fixed(o.ID[:], id, "owner id"), fixed(o.Signer[:], signer, "signer"))
}

const depositColumns = `owner, serial, description, blob, signer, created, deposited, seq`

func scanDeposit(r Row) (authority.Deposit, error) {
	var d authority.Deposit
	var owner, serial, description, signer []byte
	var created, deposited int64
	var seq sql.NullInt64
	if err := r.Scan(&owner, &serial, &description, &d.Blob, &signer, &created, &deposited, &seq); err != nil {
		return d, err
	}
	d.Description, d.Created, d.Deposited, d.Seq = string(description), fromNanos(created), fromNanos(deposited), uint64(seq.Int64)
	return d, firstError(fixed(d.Owner[:], owner, "owner"), fixed(d.Serial[:], serial, "serial"),
		fixed(d.Signer[:], signer, "signer"))
}

const recoveryColumns = `id, owner, old_signer, recipient, to_signer, serial, state, created, expires, completed, version, completable, policy, quorum, operators`

func scanRecovery(row Row) (authority.Recovery, error) {
	var r authority.Recovery
	var id, owner, oldSigner, to, toSigner, serial, operators []byte
	var state, created, expires, completable, policy, quorum int64
	var completed sql.NullInt64
	if err := row.Scan(&id, &owner, &oldSigner, &to, &toSigner, &serial, &state, &created, &expires, &completed, &r.Version,
		&completable, &policy, &quorum, &operators); err != nil {
		return r, err
	}
	r.Policy, r.Quorum = uint64(policy), int(quorum)
	var err error
	if r.Operators, err = splitKeys(operators); err != nil {
		return r, err
	}
	r.To, r.State, r.Created, r.Expires = string(to), authority.RecoveryState(state), fromNanos(created), fromNanos(expires)
	r.Completable = r.Created // a request made before delays existed
	if completable != 0 {
		r.Completable = fromNanos(completable)
	}
	if completed.Valid {
		r.Completed = fromNanos(completed.Int64)
	}
	var serialErr error
	if serial != nil {
		r.Serial = new(keyblob.Serial)
		serialErr = fixed(r.Serial[:], serial, "serial")
	}
	return r, firstError(fixed(r.ID[:], id, "request id"), fixed(r.Owner[:], owner, "owner"),
		fixed(r.OldSigner[:], oldSigner, "old signer"), fixed(r.ToSigner[:], toSigner, "new signer"), serialErr)
}

const auditColumns = `seq, time, kind, owner, actor, ref, detail, prev, hash, salt`

func scanAudit(r Row) (api.AuditEntry, error) {
	var e api.AuditEntry
	var seq, ns, kind int64
	var owner, actor, ref, detail, prev, hash, salt []byte
	if err := r.Scan(&seq, &ns, &kind, &owner, &actor, &ref, &detail, &prev, &hash, &salt); err != nil {
		return e, err
	}
	// A kind out of range is kept as a kind that fails verification,
	// never refused here: the verifier names the row.
	e.Seq, e.Time, e.Kind, e.Detail = uint64(seq), fromNanos(ns), api.AuditKind(min(max(kind, 0), 255)), string(detail)
	return e, firstError(fixed(e.Owner[:], owner, "audit owner"), fixed(e.Actor[:], actor, "audit actor"),
		fixed(e.Ref[:], ref, "audit ref"), fixed(e.Prev[:], prev, "audit prev"), fixed(e.Hash[:], hash, "audit hash"),
		fixed(e.Salt[:], salt, "audit salt"))
}

// collect reads every row of rows with scan.
func collect[T any](rows Rows, err error, scan func(Row) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// joinKeys concatenates fingerprints; splitKeys splits them again.
func joinKeys(fps []keyblob.Fingerprint) []byte {
	b := make([]byte, 0, 32*len(fps))
	for _, fp := range fps {
		b = append(b, fp[:]...)
	}
	return b
}

func splitKeys(b []byte) ([]keyblob.Fingerprint, error) {
	if len(b)%32 != 0 {
		return nil, fmt.Errorf("corrupt database: a list of keys of %d bytes", len(b))
	}
	if len(b) == 0 {
		return nil, nil
	}
	fps := make([]keyblob.Fingerprint, len(b)/32)
	for i := range fps {
		copy(fps[i][:], b[32*i:])
	}
	return fps, nil
}

const policyColumns = `version, quorum, operators, delay, set_at`

func scanPolicy(row Row) (authority.Policy, error) {
	var p authority.Policy
	var version, quorum, delay, set int64
	var operators []byte
	if err := row.Scan(&version, &quorum, &operators, &delay, &set); err != nil {
		return p, err
	}
	p.Version, p.Quorum, p.Delay, p.Set = uint64(version), int(quorum), time.Duration(delay), fromNanos(set)
	var err error
	p.Operators, err = splitKeys(operators)
	return p, err
}
