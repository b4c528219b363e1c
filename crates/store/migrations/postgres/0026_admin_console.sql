-- The admin console (docs/web.md, "Built: the admin console"): administrator accounts
-- with their passkeys, console page sessions in web_sessions (kind 'console', owned by an
-- account instead of a user; tenant_id and user_pk become nullable, a CHECK says which
-- owner each kind has), and the WebAuthn ceremony of a console sign-in in its own row.
CREATE TABLE admin_accounts (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('superadmin', 'tenant_admin', 'read_only')),
    tenant_id     TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    status        TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    failures      BIGINT NOT NULL DEFAULT 0,
    locked_until  BIGINT,
    created_at    BIGINT NOT NULL,
    CHECK ((role = 'superadmin' AND tenant_id IS NULL) OR (role = 'tenant_admin' AND tenant_id IS NOT NULL)
           OR role = 'read_only')
);

CREATE TABLE admin_credentials (
    account_id    TEXT NOT NULL REFERENCES admin_accounts (id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL,
    name          TEXT NOT NULL,
    credential    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT,
    PRIMARY KEY (account_id, credential_id)
);
CREATE UNIQUE INDEX admin_credentials_by_id ON admin_credentials (credential_id);

ALTER TABLE web_sessions DROP CONSTRAINT web_sessions_kind_check;
ALTER TABLE web_sessions ADD CONSTRAINT web_sessions_kind_check CHECK (kind IN ('self_service', 'console'));
ALTER TABLE web_sessions ALTER COLUMN tenant_id DROP NOT NULL;
ALTER TABLE web_sessions ALTER COLUMN user_pk DROP NOT NULL;
ALTER TABLE web_sessions ADD COLUMN account_id TEXT REFERENCES admin_accounts (id) ON DELETE CASCADE;
ALTER TABLE web_sessions ADD COLUMN step TEXT NOT NULL DEFAULT 'signed_in'
    CHECK (step IN ('password_ok', 'signed_in'));
ALTER TABLE web_sessions ADD CONSTRAINT web_sessions_owner CHECK (
    (kind = 'self_service' AND tenant_id IS NOT NULL AND user_pk IS NOT NULL AND account_id IS NULL)
    OR (kind = 'console' AND account_id IS NOT NULL AND user_pk IS NULL));
CREATE INDEX web_sessions_by_account ON web_sessions (account_id);

-- The WebAuthn ceremony (registration or authentication) a console session is in: one
-- at a time per session, taken once.
CREATE TABLE console_ceremonies (
    session_hash TEXT PRIMARY KEY REFERENCES web_sessions (id_hash) ON DELETE CASCADE,
    state        TEXT NOT NULL,
    expires_at   BIGINT NOT NULL
);
