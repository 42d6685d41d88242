-- Pinned DPR signing keys: the Ed25519 public keys that may sign a stack's DPRs. A record's
-- signer_public_key travels inside the record, so a valid signature proves nothing until the
-- key is pinned here. A stack with no unrevoked pin is checked as before (valid = valid);
-- once a stack has pins, a valid signature by any other key is "untrusted".
--
-- Revocation rule: a revoked key stops being trusted from the moment the audit index sees the
-- revocation (its snapshot refreshes every few seconds). Records indexed after that are
-- "untrusted"; records indexed before keep the status they were given. The record's own
-- created_at is not used: it is the signer's claim, and a stolen key can backdate it.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'faramesh_app') THEN
        CREATE ROLE faramesh_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE format('GRANT faramesh_app TO %I', current_user);
    END IF;
END
$$;

CREATE TABLE stack_signing_keys (
    org_id     uuid        NOT NULL,
    stack_id   uuid        NOT NULL,
    -- hex SHA-256 of the raw 32-byte key: the daemon's own key id (faramesh.ed25519.meta.json)
    key_id     text        NOT NULL CHECK (key_id ~ '^[0-9a-f]{64}$'),
    public_key text        NOT NULL CHECK (length(public_key) = 44),  -- standard base64
    label      text        NOT NULL DEFAULT '' CHECK (length(label) <= 200),
    added_at   timestamptz NOT NULL DEFAULT now(),
    added_by   text        NOT NULL CHECK (length(added_by) BETWEEN 1 AND 300),
    revoked_at timestamptz,
    revoked_by text,
    PRIMARY KEY (org_id, stack_id, key_id),
    FOREIGN KEY (org_id, stack_id) REFERENCES stacks (org_id, stack_id)
);

GRANT SELECT ON stacks TO faramesh_app;
GRANT SELECT, INSERT, UPDATE ON stack_signing_keys TO faramesh_app;
ALTER TABLE stack_signing_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY stack_signing_keys_tenant ON stack_signing_keys TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid)
    WITH CHECK (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
