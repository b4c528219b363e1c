-- Replay protection at a constant cost (docs/mobile-protocol.md, "Replays"): each
-- device-signed request deletes its device's nonces older than the freshness window and
-- inserts its own. Without an index on the time, the delete scanned every nonce the
-- device used in the window; with it, the delete reads only the rows it removes.
CREATE INDEX device_nonces_by_time ON device_nonces (device_id, used_at);
