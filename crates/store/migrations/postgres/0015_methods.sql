-- Methods (docs/architecture.md, "Methods"). A push with a custom authenticator records
-- which custom authenticator approves it (the device shows it, and only that key or the
-- PIN key is accepted). A QR login started as an authentication type is bound to the user
-- of the login: only that user's devices may claim it (NULL: any device of the tenant, as
-- for `POST /v1/qr-logins`).
ALTER TABLE sessions ADD COLUMN custom_authenticator TEXT;
ALTER TABLE qr_logins ADD COLUMN user_pk TEXT REFERENCES users (id) ON DELETE CASCADE;
