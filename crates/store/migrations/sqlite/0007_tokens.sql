-- OATH tokens (docs/tokens.md): the seed sealed, the moving factor (HOTP: next counter;
-- TOTP: last time step accepted), failures and state.
CREATE TABLE tokens (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_pk    TEXT REFERENCES users (id) ON DELETE SET NULL,
    serial     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    algorithm  TEXT NOT NULL,
    digits     BIGINT NOT NULL,
    period     BIGINT NOT NULL,
    moving     BIGINT NOT NULL,
    secret     TEXT NOT NULL,
    state      TEXT NOT NULL,
    failures   BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, serial)
);
CREATE INDEX tokens_by_user ON tokens (user_pk);
