-- Mobile authenticators: activations, devices, request nonces, login sessions.
CREATE TABLE activations (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_pk    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    state      TEXT NOT NULL,
    attempts   BIGINT NOT NULL,
    nonce      TEXT,
    qr_payload TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE devices (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_pk        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    app_id         TEXT NOT NULL,
    app_version    TEXT NOT NULL,
    name           TEXT,
    possession_key TEXT NOT NULL,
    pin_key        TEXT NOT NULL,
    biometric_key  TEXT,
    custom_keys    TEXT NOT NULL,
    state          TEXT NOT NULL,
    pin_failures   BIGINT NOT NULL,
    push_platform  TEXT,
    push_token     TEXT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX devices_by_user ON devices (user_pk, created_at);

CREATE TABLE device_nonces (
    device_id  TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    nonce      TEXT NOT NULL,
    used_at    BIGINT NOT NULL,
    PRIMARY KEY (device_id, nonce)
);

CREATE TABLE sessions (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_pk        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    method         TEXT NOT NULL,
    state          TEXT NOT NULL,
    message        TEXT NOT NULL,
    context        TEXT NOT NULL,
    nonce          TEXT NOT NULL,
    number         BIGINT,
    number_choices TEXT NOT NULL,
    delivery       TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    decided_at     BIGINT,
    device_id      TEXT,
    reason         TEXT
);
CREATE INDEX sessions_pending_by_user ON sessions (user_pk, state, expires_at);
