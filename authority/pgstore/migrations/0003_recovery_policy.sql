-- Schema version 3: throttling instead of a lock (spec/escrow-api.md
-- section 5.4): an owner's failed code checks are counted with the time
-- of the last one, and each recovery request keeps the time from which it
-- can be completed (the recovery delay in force when it was made) and its
-- cancellation. Rows written before this version have no failure time,
-- and their requests are completable at once (there was no delay).
ALTER TABLE owners ADD COLUMN last_failure BIGINT NOT NULL DEFAULT 0;
ALTER TABLE recoveries ADD COLUMN completable BIGINT NOT NULL DEFAULT 0;
-- The recovery policy is stored with the authority (spec/escrow-api.md
-- section 7.15), every version kept; each request records the version in
-- force when it was made, its quorum and its operators (signature-key
-- fingerprints, 32 bytes each, sorted). A request made before this
-- version records none (policy 0).
CREATE TABLE policies (
	version   BIGINT PRIMARY KEY CHECK (version > 0),
	quorum    BIGINT NOT NULL CHECK (quorum >= 0),
	operators BYTEA NOT NULL CHECK (length(operators) % 32 = 0),
	delay     BIGINT NOT NULL CHECK (delay >= 0),
	set_at    BIGINT NOT NULL
);
ALTER TABLE recoveries ADD COLUMN policy BIGINT NOT NULL DEFAULT 0;
ALTER TABLE recoveries ADD COLUMN quorum BIGINT NOT NULL DEFAULT 0;
ALTER TABLE recoveries ADD COLUMN operators BYTEA NOT NULL DEFAULT ''::bytea;
