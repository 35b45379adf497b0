-- Schema version 3: throttling instead of a lock (spec/escrow-api.md
-- section 5.4): an owner's failed code checks are counted with the time
-- of the last one, and each recovery request keeps the time from which it
-- can be completed (the recovery delay in force when it was made) and its
-- cancellation. Rows written before this version have no failure time,
-- and their requests are completable at once (there was no delay).
ALTER TABLE owners ADD COLUMN last_failure INTEGER NOT NULL DEFAULT 0;
ALTER TABLE recoveries ADD COLUMN completable INTEGER NOT NULL DEFAULT 0;
-- The recovery policy is stored with the authority (spec/escrow-api.md
-- section 7.15), every version kept; each request records the version in
-- force when it was made, its quorum and its operators (signature-key
-- fingerprints, 32 bytes each, sorted). A request made before this
-- version records none (policy 0).
CREATE TABLE policies (
	version   INTEGER PRIMARY KEY CHECK (version > 0),
	quorum    INTEGER NOT NULL CHECK (quorum >= 0),
	operators BLOB NOT NULL CHECK (length(operators) % 32 = 0),
	delay     INTEGER NOT NULL CHECK (delay >= 0),
	set_at    INTEGER NOT NULL
);
ALTER TABLE recoveries ADD COLUMN policy INTEGER NOT NULL DEFAULT 0;
ALTER TABLE recoveries ADD COLUMN quorum INTEGER NOT NULL DEFAULT 0;
ALTER TABLE recoveries ADD COLUMN operators BLOB NOT NULL DEFAULT X'';
