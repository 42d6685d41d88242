-- The index's own history of pinned DPR signing keys (issue 13), read from
-- stacks.signing_keys.v1 (SigningKeyPinned / SigningKeyUnpinned): it no longer reads the
-- stacks component's stack_signing_keys. A record is checked against the pins in force when
-- Cloud received it, so a replay gives it the verdict it was given then.
CREATE TABLE audit_signing_key_pins (
    ordinal       bigint      GENERATED ALWAYS AS IDENTITY,  -- the order the index read them in
    event_id      uuid        PRIMARY KEY,                   -- a redelivered event adds nothing
    org_id        text        NOT NULL,
    stack_id      text        NOT NULL,
    key_id        text        NOT NULL,
    public_key    text        NOT NULL,                      -- '' for a revocation
    pinned        boolean     NOT NULL,                      -- false: revoked
    effective_ns  bigint      NOT NULL,                      -- counts for records received from then on
    actor         text        NOT NULL
);
CREATE INDEX audit_signing_key_pins_by_stack ON audit_signing_key_pins (org_id, stack_id, effective_ns, ordinal);

-- One row: the pin history's generation, moved by every change. The DPR sink reads it
-- FOR SHARE in each batch and re-checks signatures verified under an older generation; the
-- pin sink takes it FOR UPDATE, so a change and a batch never interleave.
CREATE TABLE audit_pin_generation (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    generation  bigint  NOT NULL
);
INSERT INTO audit_pin_generation (generation) VALUES (0);
