package sqlstore

import (
	"context"
	"errors"
	"time"
)

// Probe shows that the database writes: it sets the one row of health to
// the time, in a transaction committed as every change is (DB.Write), so
// that a full disk or a read-only database fails it as it would fail a
// deposit (authority.Prober).
func (s *Store) Probe(ctx context.Context) error {
	return s.write(ctx, func(tx Tx) error {
		n, err := tx.Exec(ctx, `UPDATE health SET checked = $1 WHERE id = 1`, time.Now().UnixNano())
		switch {
		case err != nil:
			return err
		case n != 1:
			return errors.New("the health row is missing")
		}
		return nil
	})
}
