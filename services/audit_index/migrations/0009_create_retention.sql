-- Retention that keeps proofs (issue 17; docs/retention.md). The index's retention state:
-- policies, legal holds, the frameworks an organisation declared (learnt from
-- compliance.events.v1), each organisation's horizon (records created before it were removed
-- by retention), each agent chain's signed checkpoint, and the sweeps that ran. All of it is
-- rebuilt from audit.retention.v1 (and compliance.events.v1) on a replay.

-- How long DPRs stay, per organisation (stack_id '') or per stack.
CREATE TABLE audit_retention_policies (
    org_id    text        NOT NULL,
    stack_id  text        NOT NULL DEFAULT '',
    days      integer     NOT NULL CHECK (days > 0),
    set_at    timestamptz NOT NULL,
    set_by    text        NOT NULL,
    event_id  uuid        NOT NULL,
    PRIMARY KEY (org_id, stack_id)
);

-- A legal hold per stack suspends deletion of the partitions that hold its records.
CREATE TABLE audit_retention_holds (
    org_id    text        NOT NULL,
    stack_id  text        NOT NULL,
    reason    text        NOT NULL,
    held_at   timestamptz NOT NULL,
    held_by   text        NOT NULL,
    event_id  uuid        NOT NULL,
    PRIMARY KEY (org_id, stack_id)
);

-- The frameworks an organisation declared, as the compliance service's FrameworksDeclared said.
CREATE TABLE audit_retention_frameworks (
    org_id       text        PRIMARY KEY,
    frameworks   text[]      NOT NULL,
    declared_at  timestamptz NOT NULL
);

-- Records of the organisation created before removed_before_ns were removed by retention:
-- the DPR and summary sinks leave out any that arrive again (redelivery, replay, late sync).
-- The sink reads the row FOR SHARE first in its batch; a sweep holds it FOR UPDATE.
CREATE TABLE audit_retention_horizons (
    org_id             text        PRIMARY KEY,
    removed_before_ns  bigint      NOT NULL DEFAULT 0,
    removed_on         timestamptz
);

-- Per agent chain, the last record retention removed (highest chain index), signed with
-- the platform signing key: the rest of the chain verifies from it.
CREATE TABLE audit_chain_checkpoints (
    org_id             text        NOT NULL,
    stack_id           text        NOT NULL,
    agent_id           text        NOT NULL,
    chain_index        bigint      NOT NULL,
    record_hash        text        NOT NULL,
    record_id          text        NOT NULL,
    record_created_at  text        NOT NULL,
    removed_on         timestamptz NOT NULL,
    sweep_id           uuid        NOT NULL,
    key_id             text        NOT NULL,
    signature          text        NOT NULL,
    PRIMARY KEY (org_id, stack_id, agent_id)
);

-- Each sweep of an organisation that removed something: what went.
CREATE TABLE audit_retention_sweeps (
    sweep_id     uuid        PRIMARY KEY,
    org_id       text        NOT NULL,
    ran_at       timestamptz NOT NULL,
    horizon_ns   bigint      NOT NULL,
    months       integer[]   NOT NULL,
    records      bigint      NOT NULL,
    summaries    bigint      NOT NULL,
    chains       integer     NOT NULL
);
CREATE INDEX audit_retention_sweeps_by_org ON audit_retention_sweeps (org_id, ran_at DESC);

-- The job itself (one row): when it last ran and what it checked.
CREATE TABLE audit_retention_job (
    id        boolean     PRIMARY KEY DEFAULT true CHECK (id),
    ran_at    timestamptz NOT NULL,
    orgs      integer     NOT NULL,
    dropped   integer     NOT NULL
);

-- People change policies and holds in a tenant transaction (role faramesh_app), with the
-- outbox event and the platform audit entry.
GRANT SELECT, INSERT, UPDATE, DELETE ON audit_retention_policies, audit_retention_holds TO faramesh_app;
GRANT SELECT ON audit_retention_frameworks, audit_retention_horizons, audit_chain_checkpoints,
    audit_retention_sweeps, audit_retention_job TO faramesh_app;
ALTER TABLE audit_retention_policies ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_retention_policies_tenant ON audit_retention_policies TO faramesh_app
    USING (org_id = current_setting('app.org_id', true))
    WITH CHECK (org_id = current_setting('app.org_id', true));
ALTER TABLE audit_retention_holds ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_retention_holds_tenant ON audit_retention_holds TO faramesh_app
    USING (org_id = current_setting('app.org_id', true))
    WITH CHECK (org_id = current_setting('app.org_id', true));
