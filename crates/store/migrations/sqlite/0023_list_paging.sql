-- Every admin listing pages by a stable unique key (docs/foundation.md, "Pagination"):
-- these indexes serve the keyset queries that had none.
--
-- API keys and admin tokens page by ID within their owner (admin tokens have no tenant).
CREATE INDEX access_keys_by_owner_id ON access_keys (kind, tenant_id, id);
-- A user's mobile authenticators page by ID.
CREATE INDEX devices_by_user_id ON devices (user_pk, id);
-- The outbox pages newest first, ties broken by ID, over all messages or one state;
-- the new indexes cover what the two they replace served (retention's scans by age).
CREATE INDEX outbox_by_created_id ON outbox (created_at, id);
CREATE INDEX outbox_by_state_created_id ON outbox (state, created_at, id);
DROP INDEX outbox_by_created;
DROP INDEX outbox_by_state_created;
-- (PostgreSQL also sets the byte-order collation on the names listings page by; SQLite
-- compares text byte by byte already.)
