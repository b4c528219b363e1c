-- Duo-compatible integrations of tenants (docs/duo.md, "Integrations"): the integration
-- key, the secret key sealed under the master key, and whether Duo Unix 1.x's
-- signatures (without a Date) are accepted.
CREATE TABLE duo_integrations (
    ikey              TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    skey              TEXT NOT NULL,
    legacy_signatures INTEGER NOT NULL CHECK (legacy_signatures IN (0, 1)),
    created_at        INTEGER NOT NULL,
    UNIQUE (tenant_id, name)
);
