-- Schema version 3: throttling instead of a lock (spec/escrow-api.md
-- section 5.4): an owner's failed code checks are counted with the time
-- of the last one, and each recovery request keeps the time from which it
-- can be completed (the recovery delay in force when it was made) and its
-- cancellation. Rows written before this version have no failure time,
-- and their requests are completable at once (there was no delay).
ALTER TABLE owners ADD COLUMN last_failure BIGINT NOT NULL DEFAULT 0;
ALTER TABLE recoveries ADD COLUMN completable BIGINT NOT NULL DEFAULT 0;
