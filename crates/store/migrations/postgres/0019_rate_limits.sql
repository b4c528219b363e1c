-- Request limits (docs/security.md, "Request limits"): one counter per bucket and fixed
-- window. A bucket is a limit's name and a hash of what it counts per (a client address,
-- an API key's ID, an activation's or a device's ID), never the identifier itself. Every
-- request is one upsert on (bucket, window_start) that increments and returns the count,
-- so nodes sharing the database share the budgets.
CREATE TABLE rate_limits (
    bucket       TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    window_end   BIGINT NOT NULL,
    count        BIGINT NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
-- Housekeeping removes the counters of ended windows, oldest first.
CREATE INDEX rate_limits_by_end ON rate_limits (window_end);
