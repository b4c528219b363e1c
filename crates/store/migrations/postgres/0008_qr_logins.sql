-- QR logins (docs/otp.md, "QR login"): a code waiting to be claimed by a device; the
-- claim creates the session (same ID) in the same transaction.
CREATE TABLE qr_logins (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    state      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    claimed_at BIGINT
);
