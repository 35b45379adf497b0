-- Schema version 5: indexes for the operator console's read queries
-- (authority.Reports): requests by state and time, the audit log by kind
-- (filtered pages) and by kind and time (the per-day charts), and owners
-- by their failed code checks (the throttled owners).
CREATE INDEX recoveries_by_state ON recoveries (state, created);
CREATE INDEX audit_by_kind ON audit (kind, seq);
CREATE INDEX audit_by_kind_time ON audit (kind, time);
CREATE INDEX owners_by_failures ON owners (failures);
