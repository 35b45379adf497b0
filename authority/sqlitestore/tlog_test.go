package sqlitestore_test

import (
	"errors"
	"testing"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority"
	"github.com/keyblob/keyblob/authority/api"
	"github.com/keyblob/keyblob/authority/sqlitestore"
)

// checkpointOf is the checkpoint of s's tree as it is now.
func checkpointOf(t *testing.T, s authority.Store) api.Checkpoint {
	t.Helper()
	h, err := s.AuditHead(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return api.Checkpoint{Origin: "test", Size: h.TreeSize, Root: h.Root}
}

// rewrite replaces the log of the store at path by its entries but
// skip, re-appended through a store of their own, as someone who knows
// the code and holds the file could: a consistent chain, tree and head.
func rewrite(t *testing.T, path string, skip uint64) {
	t.Helper()
	s, err := sqlitestore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var kept []api.AuditEntry
	for e, err := range authority.Entries(t.Context(), s) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Seq != skip {
			kept = append(kept, e)
		}
	}
	s.Close()
	if _, err := rawDB(t, path).Exec(`DELETE FROM audit; DELETE FROM tree;
		UPDATE audit_head SET seq = 0, hash = zeroblob(32), tree_size = 0, root = zeroblob(32)`); err != nil {
		t.Fatal(err)
	}
	s, err = sqlitestore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, e := range kept {
		if _, err := s.AppendAudit(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLogRewritesNamed replays the rewrites of issue 16 on a store: each
// is named by VerifyLog, with the checkpoints a client kept.
func TestLogRewritesNamed(t *testing.T) {
	tests := []struct {
		name  string
		sql   string
		skip  uint64 // for a rewrite through the code
		want  authority.LogProblem
		chain api.ChainProblem
	}{
		{name: "deleted tail", sql: `DELETE FROM audit WHERE seq > 6`, want: authority.DeletedTail},
		{name: "tail deleted and head moved back", sql: `DELETE FROM audit WHERE seq > 6;
			UPDATE audit_head SET seq = 6, hash = (SELECT hash FROM audit WHERE seq = 6)`, want: authority.MovedHead},
		{name: "tail, head and tree rolled back", sql: `DELETE FROM audit WHERE seq > 6;
			DELETE FROM tree WHERE idx >= 10;
			UPDATE audit_head SET seq = 6, hash = (SELECT hash FROM audit WHERE seq = 6), tree_size = 6,
				root = (SELECT root FROM rollback)`, want: authority.Truncated},
		{name: "middle removed, chain and tree recomputed", skip: 3, want: authority.RewrittenHistory},
		{name: "middle edited", sql: `UPDATE audit SET detail = X'7b7d20' WHERE seq = 3`, chain: api.Edited},
		{name: "stored tree edited", sql: `UPDATE tree SET hash = zeroblob(32) WHERE idx = 0`, want: authority.RewrittenTree},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, path := open(t)
			fill(t, s, 6)
			at6 := checkpointOf(t, s)
			if _, err := rawDB(t, path).Exec(`CREATE TABLE rollback AS SELECT root FROM audit_head`); err != nil {
				t.Fatal(err)
			}
			more(t, s, 7, 9)
			at9 := checkpointOf(t, s)
			if _, err := authority.VerifyLog(t.Context(), s, []api.Checkpoint{at6, at9}); err != nil {
				t.Fatalf("the untouched log: %v", err)
			}
			s.Close()
			if tt.sql != "" {
				if _, err := rawDB(t, path).Exec(tt.sql); err != nil {
					t.Fatal(err)
				}
			} else {
				rewrite(t, path, tt.skip)
			}
			s, err := sqlitestore.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			_, err = authority.VerifyLog(t.Context(), s, []api.Checkpoint{at6, at9})
			var le *authority.LogError
			var ce *api.ChainError
			switch {
			case tt.chain != 0 && errors.As(err, &ce) && ce.Problem == tt.chain:
			case tt.want != 0 && errors.As(err, &le) && le.Problem == tt.want:
			default:
				t.Fatalf("VerifyLog = %v, want problem %d / chain problem %d", err, tt.want, tt.chain)
			}
			t.Log(err)
		})
	}
}

// more appends deposits from..to (numbers as fill's).
func more(t *testing.T, s authority.Store, from, to int) {
	t.Helper()
	o, err := s.Owner(t.Context(), keyblob.Fingerprint{7})
	if err != nil {
		t.Fatal(err)
	}
	for i := from; i <= to; i++ {
		e := api.AuditEntry{Time: o.Created, Kind: api.AuditRelease, Owner: o.ID, Detail: "{}", Ref: [16]byte{byte(i)}}
		if _, err := s.AppendAudit(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTreeCatchesUp checks that a log written before its tree (schema
// version 1) does not verify as complete, and that the next append adds
// its entries to the tree.
func TestTreeCatchesUp(t *testing.T) {
	s, path := open(t)
	fill(t, s, 5)
	before := checkpointOf(t, s)
	s.Close()
	if _, err := rawDB(t, path).Exec(`DELETE FROM tree; UPDATE audit_head SET tree_size = 0, root = zeroblob(32)`); err != nil {
		t.Fatal(err)
	}
	s, err := sqlitestore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := authority.VerifyLog(t.Context(), s, nil); !errors.Is(err, authority.ErrLogTampered) {
		t.Fatalf("a log older than its tree verified as complete: %v", err)
	}
	more(t, s, 6, 6)
	if h, err := authority.VerifyLog(t.Context(), s, []api.Checkpoint{before}); err != nil || h.TreeSize != 6 {
		t.Fatalf("after the catch-up: head %+v, %v", h, err)
	}
}
