-- The audit log (docs/security.md, "Audit log"): security events in one hash chain.
-- Each entry's hash covers its fields and the hash of the entry before (prev_hash).
CREATE TABLE audit_log (
    seq       BIGINT PRIMARY KEY,
    at        BIGINT NOT NULL,
    tenant_id TEXT,
    tenant    TEXT,
    user_id   TEXT,
    kind      TEXT NOT NULL,
    actor     TEXT NOT NULL,
    details   TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX audit_by_tenant ON audit_log (tenant, user_id, seq);
CREATE INDEX audit_by_kind ON audit_log (kind, seq);
CREATE INDEX audit_by_at ON audit_log (at);

-- The chain's head, one row: every append moves it (which serializes appends across
-- nodes), to the last entry's seq and hash. base_seq and base_hash say where the chain
-- starts once retention has purged its oldest entries.
CREATE TABLE audit_head (
    id        BIGINT PRIMARY KEY CHECK (id = 1),
    seq       BIGINT NOT NULL,
    hash      TEXT NOT NULL,
    base_seq  BIGINT NOT NULL,
    base_hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash, base_seq, base_hash) VALUES (
    1, 0, '0000000000000000000000000000000000000000000000000000000000000000',
    0, '0000000000000000000000000000000000000000000000000000000000000000'
);

-- Retention (docs/security.md, "Retention"): each purge walks its table oldest first
-- along one of these, a bounded batch at a time.
CREATE INDEX sessions_by_decided ON sessions (decided_at);
CREATE INDEX outbox_by_state_sent ON outbox (state, sent_at);
CREATE INDEX outbox_by_state_created ON outbox (state, created_at);
CREATE INDEX risk_failures_by_at ON risk_failures (at);
CREATE INDEX qr_logins_by_expiry ON qr_logins (expires_at);
CREATE INDEX activations_by_expiry ON activations (expires_at);
