-- Provider configuration (docs/delivery.md, "Providers"): push apps and tenants'
-- messaging providers, each a public view plus the input sealed under the master key.
CREATE TABLE config_docs (
    kind       TEXT NOT NULL,
    doc_key    TEXT NOT NULL,
    tenant_id  TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    doc        TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (kind, doc_key)
);
