-- Login-request limits per user (docs/foundation.md, "Rate limits"): the sessions a user
-- was sent in a recent window are counted by user and creation time.
CREATE INDEX sessions_by_user_created ON sessions (user_pk, created_at);
