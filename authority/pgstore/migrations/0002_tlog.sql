-- Schema version 2: the audit log becomes a transparency log
-- (spec/escrow-api.md section 6.6). Each entry gets its leaf's salt
-- (zero for the entries written before this version, whose leaves are
-- therefore guessable); tree keeps the Merkle tree's stored hashes, by
-- golang.org/x/mod/sumdb/tlog's StoredHashIndex; audit_head records how
-- many entries the tree holds and its root. Entries older than the tree
-- are added to it by the next append.
ALTER TABLE audit ADD COLUMN salt BYTEA NOT NULL DEFAULT decode(repeat('00', 16), 'hex');
CREATE TABLE tree (
	idx  BIGINT PRIMARY KEY,
	hash BYTEA NOT NULL CHECK (length(hash) = 32)
);
ALTER TABLE audit_head ADD COLUMN tree_size BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_head ADD COLUMN root BYTEA NOT NULL DEFAULT decode(repeat('00', 32), 'hex');
