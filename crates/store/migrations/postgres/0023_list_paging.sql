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
-- Names that listings page by compare byte by byte, as on SQLite and as tenants' domains
-- and users' userIDs already do, whatever the database's default collation: the
-- authentication types listing merges the built-in names with the stored ones in that
-- order, and every `nextAfter` means the same on both backends.
ALTER TABLE auth_types ALTER COLUMN name TYPE TEXT COLLATE "C";
ALTER TABLE push_apps ALTER COLUMN app_id TYPE TEXT COLLATE "C";
ALTER TABLE radius_clients ALTER COLUMN name TYPE TEXT COLLATE "C";
ALTER TABLE duo_integrations ALTER COLUMN name TYPE TEXT COLLATE "C";
ALTER TABLE tokens ALTER COLUMN serial TYPE TEXT COLLATE "C";
ALTER TABLE virtual_authenticators ALTER COLUMN serial TYPE TEXT COLLATE "C";
ALTER TABLE fido_credentials ALTER COLUMN credential_id TYPE TEXT COLLATE "C";
ALTER TABLE uaf_registrations ALTER COLUMN aaid TYPE TEXT COLLATE "C";
ALTER TABLE uaf_registrations ALTER COLUMN key_id TYPE TEXT COLLATE "C";
