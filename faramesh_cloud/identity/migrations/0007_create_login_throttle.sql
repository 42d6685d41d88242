-- Failed password sign-ins per (client IP, email), keyed by SHA-256 of both so neither is
-- stored in the clear. A key with too many failures in its window is locked until
-- locked_until.
CREATE TABLE login_throttle (
    throttle_key bytea       PRIMARY KEY CHECK (length(throttle_key) = 32),
    failures     integer     NOT NULL DEFAULT 0,
    window_start timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz
);
