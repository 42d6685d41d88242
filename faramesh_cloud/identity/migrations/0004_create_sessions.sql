-- Server-side sign-in sessions. The cookie holds a random id; only its SHA-256 is stored.
-- A session ends at expires_at, when idle past idle_expires_at, or when revoked.
CREATE TABLE sessions (
    session_sha256  bytea       PRIMARY KEY CHECK (length(session_sha256) = 32),
    user_id         uuid        NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    csrf_token      text        NOT NULL,
    auth_method     text        NOT NULL,
    ip              text        NOT NULL DEFAULT '',
    user_agent      text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_seen_at    timestamptz NOT NULL DEFAULT now(),
    idle_expires_at timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz
);

CREATE INDEX sessions_user ON sessions (user_id);
