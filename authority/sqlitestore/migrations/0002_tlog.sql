-- Schema version 2: the audit log becomes a transparency log
-- (spec/escrow-api.md section 6.6). Each entry gets its leaf's salt
-- (zero for the entries written before this version, whose leaves are
-- therefore guessable); tree keeps the Merkle tree's stored hashes, by
-- golang.org/x/mod/sumdb/tlog's StoredHashIndex; audit_head records how
-- many entries the tree holds and its root. Entries older than the tree
-- are added to it by the next append.
ALTER TABLE audit ADD COLUMN salt BLOB NOT NULL DEFAULT X'00000000000000000000000000000000';
CREATE TABLE tree (
	idx  INTEGER PRIMARY KEY,
	hash BLOB NOT NULL CHECK (length(hash) = 32)
);
ALTER TABLE audit_head ADD COLUMN tree_size INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit_head ADD COLUMN root BLOB NOT NULL DEFAULT X'0000000000000000000000000000000000000000000000000000000000000000';
