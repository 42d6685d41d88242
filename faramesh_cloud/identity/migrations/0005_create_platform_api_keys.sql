-- Platform API keys "fmc_pk_<key_id>_<secret>" for programmatic access to one
-- organisation with one role. Only SHA-256 of the secret is stored.
CREATE TABLE platform_api_keys (
    key_id        text        PRIMARY KEY CHECK (key_id ~ '^[0-9a-f]{16}$'),
    org_id        uuid        NOT NULL REFERENCES orgs (org_id),
    name          text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    role          text        NOT NULL CHECK (role IN ('owner', 'admin', 'operator', 'auditor', 'viewer')),
    secret_sha256 bytea       NOT NULL CHECK (length(secret_sha256) = 32),
    created_by    uuid        REFERENCES users (user_id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    last_used_at  timestamptz,
    revoked_at    timestamptz
);

CREATE INDEX platform_api_keys_org ON platform_api_keys (org_id, created_at);
