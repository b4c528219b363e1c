-- Typed tables in place of config_docs (docs/foundation.md, "Tables"): one table per
-- kind of data that lived there, with real columns for what is keyed, queried and
-- unique, foreign keys that remove a user's or tenant's rows with it, and the rest of a
-- row as a JSON value object where the core owns its shape. Existing documents move in
-- (those of users or tenants that no longer exist are dropped), then config_docs goes.
-- Devices gain `single_mode`, set when a device is activated in the single enrollment
-- mode; a unique partial index allows one such active device per user and app.

CREATE TABLE push_apps (
    app_id      TEXT PRIMARY KEY,
    public_view TEXT NOT NULL,
    sealed      TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE tenant_providers (
    tenant_id   TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    public_view TEXT NOT NULL,
    sealed      TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE auth_types (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    settings   TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE fido_relying_parties (
    tenant_id  TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    config     TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE risk_rules (
    tenant_id  TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    settings   TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE risk_profiles (
    user_pk    TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    profile    TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Keyed by the challenge's requestID: a session's, or a FIDO ceremony's.
CREATE TABLE risk_pending (
    request_id TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    learn      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX risk_pending_by_created ON risk_pending (created_at);

CREATE TABLE virtual_authenticators (
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    serial       TEXT NOT NULL,
    user_pk      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    applications TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, serial)
);
CREATE INDEX virtual_authenticators_by_user ON virtual_authenticators (user_pk, serial);

CREATE TABLE fido_credentials (
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_pk       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL,
    credential    TEXT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, credential_id)
);
CREATE INDEX fido_credentials_by_user ON fido_credentials (user_pk, credential_id);

CREATE TABLE uaf_registrations (
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_pk      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    aaid         TEXT NOT NULL,
    key_id       TEXT NOT NULL,
    registration TEXT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, aaid, key_id)
);
CREATE INDEX uaf_registrations_by_user ON uaf_registrations (user_pk, aaid, key_id);

CREATE TABLE fido_ceremonies (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_pk    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    state      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX fido_ceremonies_by_expiry ON fido_ceremonies (expires_at);

ALTER TABLE devices ADD COLUMN single_mode INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX devices_one_active_in_single_mode ON devices (user_pk, app_id)
    WHERE single_mode = 1 AND state = 'Active';

-- Move the documents. Keys were "{app_id}", "{tenant_id}", "{tenant_id}:{name}",
-- "{user_pk}", "{request_id}", "{ceremony_id}", "{user_pk}:{credential_id}" and
-- "{user_pk}:{aaid}:{key_id}"; tenant and user ids never contain ':'.
INSERT INTO push_apps (app_id, public_view, sealed, updated_at)
SELECT doc_key, (doc::json -> 'view')::text, (doc::json ->> 'sealed'), updated_at FROM config_docs WHERE kind = 'push_app';

INSERT INTO tenant_providers (tenant_id, public_view, sealed, updated_at)
SELECT c.doc_key, (c.doc::json -> 'view')::text, (c.doc::json ->> 'sealed'), c.updated_at
FROM config_docs c JOIN tenants t ON t.id = c.doc_key WHERE c.kind = 'tenant_providers';

INSERT INTO auth_types (tenant_id, name, settings, updated_at)
SELECT t.id, substr(c.doc_key, length(t.id) + 2), c.doc, c.updated_at
FROM config_docs c JOIN tenants t ON t.id = c.tenant_id
WHERE c.kind = 'auth_type' AND substr(c.doc_key, 1, length(t.id) + 1) = t.id || ':';

INSERT INTO fido_relying_parties (tenant_id, config, updated_at)
SELECT c.doc_key, c.doc, c.updated_at FROM config_docs c JOIN tenants t ON t.id = c.doc_key WHERE c.kind = 'fido_rp';

INSERT INTO risk_rules (tenant_id, settings, updated_at)
SELECT c.doc_key, c.doc, c.updated_at FROM config_docs c JOIN tenants t ON t.id = c.doc_key WHERE c.kind = 'risk';

INSERT INTO risk_profiles (user_pk, tenant_id, profile, updated_at)
SELECT u.id, u.tenant_id, c.doc, c.updated_at FROM config_docs c JOIN users u ON u.id = c.doc_key
WHERE c.kind = 'risk_profile';

INSERT INTO risk_pending (request_id, tenant_id, learn, created_at)
SELECT c.doc_key, t.id, c.doc, c.updated_at FROM config_docs c JOIN tenants t ON t.id = c.tenant_id
WHERE c.kind = 'risk_pending';

INSERT INTO virtual_authenticators (tenant_id, serial, user_pk, applications, created_at)
SELECT u.tenant_id, substr(c.doc_key, length(u.tenant_id) + 2), u.id, (c.doc::json -> 'applications')::text, c.updated_at
FROM config_docs c JOIN users u ON u.id = (c.doc::json ->> 'userPk')
WHERE c.kind = 'virtual_authenticator' AND substr(c.doc_key, 1, length(u.tenant_id) + 1) = u.tenant_id || ':';

INSERT INTO fido_credentials (tenant_id, user_pk, credential_id, credential, updated_at)
SELECT u.tenant_id, u.id, substr(c.doc_key, strpos(c.doc_key, ':') + 1), c.doc, c.updated_at
FROM config_docs c JOIN users u ON u.id = substr(c.doc_key, 1, strpos(c.doc_key, ':') - 1)
WHERE c.kind = 'fido_credential'
ON CONFLICT DO NOTHING;

INSERT INTO uaf_registrations (tenant_id, user_pk, aaid, key_id, registration, updated_at)
SELECT u.tenant_id, u.id, (c.doc::json ->> 'aaid'), (c.doc::json ->> 'keyId'), c.doc, c.updated_at
FROM config_docs c JOIN users u ON u.id = substr(c.doc_key, 1, strpos(c.doc_key, ':') - 1)
WHERE c.kind = 'uaf_registration'
ON CONFLICT DO NOTHING;

INSERT INTO fido_ceremonies (id, tenant_id, user_pk, state, created_at, expires_at)
SELECT c.doc_key, u.tenant_id, u.id, c.doc, c.updated_at, (c.doc::json ->> 'expiresAt')::bigint
FROM config_docs c JOIN users u ON u.id = (c.doc::json ->> 'userPk')
WHERE c.kind = 'fido_ceremony';

DROP TABLE config_docs;
