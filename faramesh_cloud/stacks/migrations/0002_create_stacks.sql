-- Stacks (one per daemon) and their API keys. Every row carries org_id, so row-level
-- security can later be a real backstop ("org_id = current_setting(...)").
CREATE TABLE stacks (
    org_id          uuid        NOT NULL REFERENCES orgs (org_id),
    stack_id        uuid        NOT NULL,
    name            text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    environment     text        NOT NULL DEFAULT '' CHECK (length(environment) <= 100),
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_seen_at    timestamptz,
    deregistered_at timestamptz,
    PRIMARY KEY (org_id, stack_id),
    UNIQUE (stack_id)
);

-- A name identifies a live stack within its organisation; a deregistered stack keeps its
-- name in history and frees it for a new registration.
CREATE UNIQUE INDEX stacks_live_name ON stacks (org_id, name) WHERE deregistered_at IS NULL;

-- Stack API keys "fmc_sk_<key_id>_<secret>". Only the SHA-256 of the secret is stored.
-- expires_at is set when a rotation starts the key's overlap window (or at issue time);
-- revoked_at ends a key at once.
CREATE TABLE stack_api_keys (
    key_id        text        PRIMARY KEY,
    org_id        uuid        NOT NULL,
    stack_id      uuid        NOT NULL,
    prefix        text        NOT NULL,
    secret_sha256 bytea       NOT NULL CHECK (length(secret_sha256) = 32),
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    revoked_at    timestamptz,
    FOREIGN KEY (org_id, stack_id) REFERENCES stacks (org_id, stack_id)
);

CREATE INDEX stack_api_keys_stack ON stack_api_keys (org_id, stack_id);
