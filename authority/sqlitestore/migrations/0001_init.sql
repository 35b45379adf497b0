-- Schema version 1 of the backup authority's SQLite store. Every string
-- and byte string is a BLOB, stored and read back byte for byte; times are
-- INTEGER nanoseconds since 1970. PRAGMA application_id "kbla" marks the
-- file as this store's.
PRAGMA application_id = 1801612385;

-- owners: one row per owner, with its current binding.
CREATE TABLE owners (
	id        BLOB PRIMARY KEY CHECK (length(id) = 32),
	recipient BLOB NOT NULL,
	signer    BLOB NOT NULL CHECK (length(signer) = 32),
	verifier  BLOB NOT NULL,
	failures  INTEGER NOT NULL CHECK (failures >= 0),
	created   INTEGER NOT NULL,
	version   INTEGER NOT NULL
) WITHOUT ROWID;

-- identities: every signature key ever bound to an owner, current or
-- retired; a key is bound to one owner, once.
CREATE TABLE identities (
	fingerprint BLOB PRIMARY KEY CHECK (length(fingerprint) = 32),
	owner       BLOB NOT NULL CHECK (length(owner) = 32)
) WITHOUT ROWID;

-- deposits: one per (owner, serial); seq is its deposit audit entry's.
CREATE TABLE deposits (
	owner       BLOB NOT NULL CHECK (length(owner) = 32),
	serial      BLOB NOT NULL CHECK (length(serial) = 16),
	description BLOB NOT NULL,
	blob        BLOB NOT NULL,
	signer      BLOB NOT NULL CHECK (length(signer) = 32),
	created     INTEGER NOT NULL,
	deposited   INTEGER NOT NULL,
	seq         INTEGER UNIQUE,
	PRIMARY KEY (owner, serial)
) WITHOUT ROWID;
CREATE INDEX deposits_by_seq ON deposits (owner, seq);

CREATE TABLE recoveries (
	id         BLOB PRIMARY KEY CHECK (length(id) = 16),
	owner      BLOB NOT NULL CHECK (length(owner) = 32),
	old_signer BLOB NOT NULL CHECK (length(old_signer) = 32),
	recipient  BLOB NOT NULL,
	to_signer  BLOB NOT NULL CHECK (length(to_signer) = 32),
	serial     BLOB CHECK (serial IS NULL OR length(serial) = 16),
	state      INTEGER NOT NULL,
	created    INTEGER NOT NULL,
	expires    INTEGER NOT NULL,
	completed  INTEGER,
	version    INTEGER NOT NULL
) WITHOUT ROWID;

-- approvals: one per (request, operator); seq orders them.
CREATE TABLE approvals (
	recovery BLOB NOT NULL CHECK (length(recovery) = 16),
	operator BLOB NOT NULL CHECK (length(operator) = 32),
	time     INTEGER NOT NULL,
	seq      INTEGER UNIQUE,
	PRIMARY KEY (recovery, operator)
) WITHOUT ROWID;

CREATE TABLE nonces (
	signer  BLOB NOT NULL CHECK (length(signer) = 32),
	nonce   BLOB NOT NULL CHECK (length(nonce) = 16),
	expires INTEGER NOT NULL,
	PRIMARY KEY (signer, nonce)
) WITHOUT ROWID;
CREATE INDEX nonces_by_expiry ON nonces (expires);

-- audit: the hash-chained log (spec/escrow-api.md section 6); audit_head
-- is its last entry, the one row every audited change locks.
CREATE TABLE audit (
	seq    INTEGER PRIMARY KEY,
	time   INTEGER NOT NULL,
	kind   INTEGER NOT NULL,
	owner  BLOB NOT NULL,
	actor  BLOB NOT NULL,
	ref    BLOB NOT NULL,
	detail BLOB NOT NULL,
	prev   BLOB NOT NULL,
	hash   BLOB NOT NULL
);
CREATE INDEX audit_by_owner ON audit (owner, seq);
CREATE TABLE audit_head (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	seq  INTEGER NOT NULL,
	hash BLOB NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, zeroblob(32));
