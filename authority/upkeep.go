package authority

import (
	"context"
	"time"
)

// Upkeep does once what keeps the store bounded: it forgets the request
// nonces that expired, which no request inside the time window can
// reuse (spec/escrow-api.md section 4).
func (s *Service) Upkeep(ctx context.Context) error {
	return s.store.PurgeNonces(ctx, s.now())
}

// Run does the Service's Upkeep every Config.UpkeepInterval until ctx
// ends, and then returns ctx's error. A failed upkeep is logged and
// tried again at the next interval. Every program that serves a Service
// for longer than the time window runs it (several instances sharing a
// store may each run it; the upkeep is idempotent).
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.upkeep)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			if err := s.Upkeep(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("authority upkeep: purging expired nonces", "err", err)
			}
		}
	}
}
