-- Per-organisation trust (docs/registry.md "Trust per organisation"): the registry keys an
-- organisation trusts. No row: the default set, the official key and Cloud's registry keys
-- (origins 'official' and 'cloud'), never a mirror-pinned key. Written by the registry's
-- org_trust.set_trusted with the platform-audit entry in the same transaction.
CREATE TABLE registry_org_trust (
    org_id      uuid        PRIMARY KEY,
    key_ids     text[]      NOT NULL,
    updated_at  timestamptz NOT NULL,
    updated_by  text        NOT NULL
);
