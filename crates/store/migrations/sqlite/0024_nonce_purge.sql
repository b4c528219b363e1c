-- Replay protection at one statement per request (docs/mobile-protocol.md, "Replays"):
-- a signed request only inserts its nonce; housekeeping forgets nonces older than the
-- freshness window, oldest first along the time, for all devices at once.
DROP INDEX device_nonces_by_time;
CREATE INDEX device_nonces_by_use ON device_nonces (used_at);
