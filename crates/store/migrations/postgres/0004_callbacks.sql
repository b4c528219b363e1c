-- Callbacks to relying parties (docs/delivery.md).
ALTER TABLE sessions ADD COLUMN callback_url TEXT;

CREATE TABLE tenant_callbacks (
    tenant_id  TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    config     TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
