-- Schema version 4: health, one row that the health check (/healthz,
-- spec/escrow-api.md section 7.13) updates with the time, in nanoseconds
-- since 1970, to show that the database still writes.
CREATE TABLE health (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	checked BIGINT NOT NULL
);
INSERT INTO health (id, checked) VALUES (1, 0);
