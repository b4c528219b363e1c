-- One-time codes of code sessions (docs/otp.md): the code only as an HMAC, counters,
-- the outbox message a resend copies, and the sealed code for custom delivery.
CREATE TABLE session_codes (
    session_id   TEXT PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    code_hash    TEXT NOT NULL,
    attempts     BIGINT NOT NULL,
    max_attempts BIGINT NOT NULL,
    resends      BIGINT NOT NULL,
    max_resends  BIGINT NOT NULL,
    message_id   TEXT,
    custom_code  TEXT
);
