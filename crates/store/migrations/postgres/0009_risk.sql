-- Static passwords and the risk engine's failure log (docs/risk.md).
CREATE TABLE static_passwords (
    user_pk      TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    hash         TEXT NOT NULL,
    grace_until  BIGINT,
    failures     BIGINT NOT NULL,
    locked_until BIGINT,
    updated_at   BIGINT NOT NULL
);

CREATE TABLE risk_failures (
    id        TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_pk   TEXT,
    ip        TEXT,
    at        BIGINT NOT NULL
);
CREATE INDEX risk_failures_by_user ON risk_failures (user_pk, at);
CREATE INDEX risk_failures_by_ip ON risk_failures (tenant_id, ip, at);
