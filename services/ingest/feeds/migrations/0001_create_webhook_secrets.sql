-- The secret a stack's daemon signs its webhooks with (X-Faramesh-Signature: sha256=HMAC).
-- HMAC verification needs the secret itself, so unlike API keys it cannot be stored
-- hashed; it sits in this table alone (never beside data that is exported or shown), and
-- encrypting it at rest is left to the database's storage encryption for now. A rotation
-- keeps the previous secret valid until previous_expires_at so a daemon can be re-applied
-- with the new one without losing deliveries.
CREATE TABLE webhook_secrets (
    org_id              uuid        NOT NULL,
    stack_id            uuid        NOT NULL UNIQUE,
    secret              text        NOT NULL CHECK (length(secret) BETWEEN 16 AND 512),
    previous_secret     text        CHECK (length(previous_secret) BETWEEN 16 AND 512),
    previous_expires_at timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    rotated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, stack_id),
    FOREIGN KEY (org_id, stack_id) REFERENCES stacks (org_id, stack_id)
);
