-- RADIUS clients (NAS) of tenants (docs/radius.md, "Clients"): where their requests come
-- from, the shared secret sealed under the master key, and what their requests mean.
CREATE TABLE radius_clients (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    network       TEXT NOT NULL,
    secret        TEXT NOT NULL,
    policy        TEXT NOT NULL CHECK (policy IN ('password_push', 'password_challenge', 'password_code')),
    second_factor TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);
