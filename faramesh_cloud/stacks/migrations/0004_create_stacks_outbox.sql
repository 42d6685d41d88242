-- The stacks component's transactional outbox (issue 13). Pinning or revoking a stack's DPR
-- signing key adds SigningKeyPinned / SigningKeyUnpinned here in the same transaction as the
-- change to stack_signing_keys; the relay (run by the gateway, and by the CLI after its own
-- change) appends them to stacks.signing_keys.v1, which the audit index reads into its own
-- pin history. Pins run in tenant transactions (role faramesh_app).
CREATE TABLE stacks_outbox (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic       text        NOT NULL,
    key         bytea       NOT NULL,
    value       bytea       NOT NULL,
    headers     bytea,
    created_at  timestamptz NOT NULL DEFAULT now()
);
GRANT INSERT ON stacks_outbox TO faramesh_app;

-- Pins made before this migration have no events yet: the gateway announces them once, on
-- its next start (SigningKeyStore.announce_existing: SigningKeyPinned from added_at, and
-- SigningKeyUnpinned from revoked_at for a revoked one), so the audit index's history holds
-- them with the times they took effect.
ALTER TABLE stack_signing_keys ADD COLUMN announced boolean NOT NULL DEFAULT true;
UPDATE stack_signing_keys SET announced = false;
