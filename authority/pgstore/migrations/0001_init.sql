-- Schema version 1 of the backup authority's PostgreSQL store: the same
-- tables as the SQLite store's, in PostgreSQL's types. Every string and
-- byte string is a BYTEA, stored and read back byte for byte (TEXT would
-- refuse NUL and invalid UTF-8); times are BIGINT nanoseconds since 1970.

-- owners: one row per owner, with its current binding.
CREATE TABLE owners (
	id        BYTEA PRIMARY KEY CHECK (length(id) = 32),
	recipient BYTEA NOT NULL,
	signer    BYTEA NOT NULL CHECK (length(signer) = 32),
	verifier  BYTEA NOT NULL,
	failures  BIGINT NOT NULL CHECK (failures >= 0),
	created   BIGINT NOT NULL,
	version   BIGINT NOT NULL
);

-- identities: every signature key ever bound to an owner, current or
-- retired; a key is bound to one owner, once.
CREATE TABLE identities (
	fingerprint BYTEA PRIMARY KEY CHECK (length(fingerprint) = 32),
	owner       BYTEA NOT NULL REFERENCES owners (id)
);

-- deposits: one per (owner, serial); seq is its deposit audit entry's.
CREATE TABLE deposits (
	owner       BYTEA NOT NULL REFERENCES owners (id),
	serial      BYTEA NOT NULL CHECK (length(serial) = 16),
	description BYTEA NOT NULL,
	blob        BYTEA NOT NULL,
	signer      BYTEA NOT NULL CHECK (length(signer) = 32),
	created     BIGINT NOT NULL,
	deposited   BIGINT NOT NULL,
	seq         BIGINT UNIQUE,
	PRIMARY KEY (owner, serial)
);
CREATE INDEX deposits_by_seq ON deposits (owner, seq);

CREATE TABLE recoveries (
	id         BYTEA PRIMARY KEY CHECK (length(id) = 16),
	owner      BYTEA NOT NULL REFERENCES owners (id),
	old_signer BYTEA NOT NULL CHECK (length(old_signer) = 32),
	recipient  BYTEA NOT NULL,
	to_signer  BYTEA NOT NULL CHECK (length(to_signer) = 32),
	serial     BYTEA CHECK (serial IS NULL OR length(serial) = 16),
	state      BIGINT NOT NULL,
	created    BIGINT NOT NULL,
	expires    BIGINT NOT NULL,
	completed  BIGINT,
	version    BIGINT NOT NULL
);

-- approvals: one per (request, operator); seq orders them.
CREATE TABLE approvals (
	recovery BYTEA NOT NULL REFERENCES recoveries (id),
	operator BYTEA NOT NULL CHECK (length(operator) = 32),
	time     BIGINT NOT NULL,
	seq      BIGINT UNIQUE,
	PRIMARY KEY (recovery, operator)
);

CREATE TABLE nonces (
	signer  BYTEA NOT NULL CHECK (length(signer) = 32),
	nonce   BYTEA NOT NULL CHECK (length(nonce) = 16),
	expires BIGINT NOT NULL,
	PRIMARY KEY (signer, nonce)
);
CREATE INDEX nonces_by_expiry ON nonces (expires);

-- audit: the hash-chained log (spec/escrow-api.md section 6); audit_head
-- is its last entry, the one row every audited change locks, so that
-- entries are numbered in commit order across every instance.
CREATE TABLE audit (
	seq    BIGINT PRIMARY KEY,
	time   BIGINT NOT NULL,
	kind   BIGINT NOT NULL,
	owner  BYTEA NOT NULL,
	actor  BYTEA NOT NULL,
	ref    BYTEA NOT NULL,
	detail BYTEA NOT NULL,
	prev   BYTEA NOT NULL,
	hash   BYTEA NOT NULL
);
CREATE INDEX audit_by_owner ON audit (owner, seq);
CREATE TABLE audit_head (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	seq  BIGINT NOT NULL,
	hash BYTEA NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));
