-- Metrics (docs/foundation.md, "Metrics"): `countersign_sessions_pending` counts the
-- sessions pending and not expired at every scrape; this index keeps that a range scan
-- over the pending rows instead of a scan of every session ever kept.
CREATE INDEX sessions_by_state_expiry ON sessions (state, expires_at);
