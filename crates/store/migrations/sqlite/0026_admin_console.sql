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
    failures      INTEGER NOT NULL DEFAULT 0,
    locked_until  INTEGER,
    created_at    INTEGER NOT NULL,
    CHECK ((role = 'superadmin' AND tenant_id IS NULL) OR (role = 'tenant_admin' AND tenant_id IS NOT NULL)
           OR role = 'read_only')
);

CREATE TABLE admin_credentials (
    account_id    TEXT NOT NULL REFERENCES admin_accounts (id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL,
    name          TEXT NOT NULL,
    credential    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    PRIMARY KEY (account_id, credential_id)
);
CREATE UNIQUE INDEX admin_credentials_by_id ON admin_credentials (credential_id);

-- SQLite cannot change a CHECK constraint in place: the table is rebuilt (nothing
-- references it yet).
CREATE TABLE web_sessions_new (
    id_hash      TEXT PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('self_service', 'console')),
    tenant_id    TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    user_pk      TEXT REFERENCES users (id) ON DELETE CASCADE,
    account_id   TEXT REFERENCES admin_accounts (id) ON DELETE CASCADE,
    step         TEXT NOT NULL DEFAULT 'signed_in' CHECK (step IN ('password_ok', 'signed_in')),
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    CHECK ((kind = 'self_service' AND tenant_id IS NOT NULL AND user_pk IS NOT NULL AND account_id IS NULL)
           OR (kind = 'console' AND account_id IS NOT NULL AND user_pk IS NULL))
);
INSERT INTO web_sessions_new (id_hash, kind, tenant_id, user_pk, created_at, last_seen_at, expires_at)
SELECT id_hash, kind, tenant_id, user_pk, created_at, last_seen_at, expires_at FROM web_sessions;
DROP TABLE web_sessions;
ALTER TABLE web_sessions_new RENAME TO web_sessions;
CREATE INDEX web_sessions_by_expiry ON web_sessions (expires_at);
CREATE INDEX web_sessions_by_user ON web_sessions (user_pk);
CREATE INDEX web_sessions_by_account ON web_sessions (account_id);

-- The WebAuthn ceremony (registration or authentication) a console session is in: one
-- at a time per session, taken once.
CREATE TABLE console_ceremonies (
    session_hash TEXT PRIMARY KEY REFERENCES web_sessions (id_hash) ON DELETE CASCADE,
    state        TEXT NOT NULL,
    expires_at   INTEGER NOT NULL
);
