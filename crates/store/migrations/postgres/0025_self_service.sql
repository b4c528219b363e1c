-- Self-service pages (docs/web.md): which activation made a device (so a page following
-- an activation sees the device it made turn active), the pages' signed-in sessions, and
-- one-time sign-in links. Cookies and link tokens are stored only as SHA-256 hashes.
ALTER TABLE devices ADD COLUMN activation_id TEXT;

CREATE TABLE web_sessions (
    id_hash      TEXT PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('self_service')),
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_pk      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX web_sessions_by_expiry ON web_sessions (expires_at);
CREATE INDEX web_sessions_by_user ON web_sessions (user_pk);

CREATE TABLE sign_in_links (
    id_hash    TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_pk    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX sign_in_links_by_expiry ON sign_in_links (expires_at);
