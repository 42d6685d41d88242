-- Fleet projection over sync.items.v1 (component "fleet"). Every tenant row carries org_id
-- first in its key. Each row remembers the (observed_ns, seq) of the report it came from;
-- an update applies only when its pair is higher, so the state is the latest report's
-- whatever order the log delivers in. The consumed position is written in the same
-- transaction as the rows (fleet_positions), so a redelivered batch applies nothing twice.

CREATE TABLE fleet_positions (
    topic       text    NOT NULL,
    partition   integer NOT NULL,
    next_offset bigint  NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, partition)
);

-- One row per stack: the latest status report and the latest health report.
CREATE TABLE fleet_stacks (
    org_id            text    NOT NULL,
    stack_id          text    NOT NULL,
    status_ns         bigint  NOT NULL DEFAULT -1,
    status_seq        bigint  NOT NULL DEFAULT -1,
    daemon_version    text    NOT NULL DEFAULT '',
    platform          jsonb   NOT NULL DEFAULT '{}',
    framework         text    NOT NULL DEFAULT '',
    framework_version text    NOT NULL DEFAULT '',
    runtime_mode      text    NOT NULL DEFAULT '',
    layers            text[]  NOT NULL DEFAULT '{}',
    applied_commit    text    NOT NULL DEFAULT '',
    applied_remote    text    NOT NULL DEFAULT '',
    applied_branch    text    NOT NULL DEFAULT '',
    applied_at        timestamptz,
    applied_operator  text    NOT NULL DEFAULT '',
    applied_summary   text    NOT NULL DEFAULT '',
    policy_version    text    NOT NULL DEFAULT '',
    started_at        timestamptz,
    health_ns         bigint  NOT NULL DEFAULT -1,
    health_seq        bigint  NOT NULL DEFAULT -1,
    health_ok         boolean,
    lifecycle         text    NOT NULL DEFAULT '',
    uptime_s          double precision,
    active_sessions   integer NOT NULL DEFAULT 0,
    down_backends     text[]  NOT NULL DEFAULT '{}',
    sync_queued       bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, stack_id)
);

-- Agents named by a stack's status reports; in_status is false once a later report
-- no longer lists the agent.
CREATE TABLE fleet_agents (
    org_id          text    NOT NULL,
    stack_id        text    NOT NULL,
    agent_id        text    NOT NULL,
    status_ns       bigint  NOT NULL,
    status_seq      bigint  NOT NULL,
    killed          boolean NOT NULL,
    isolated        boolean NOT NULL,
    active_sessions integer NOT NULL,
    in_status       boolean NOT NULL,
    PRIMARY KEY (org_id, stack_id, agent_id)
);

-- Latest budget snapshot per (agent, scope, session).
CREATE TABLE fleet_budgets (
    org_id      text    NOT NULL,
    stack_id    text    NOT NULL,
    agent_id    text    NOT NULL,
    scope       text    NOT NULL,
    session_id  text    NOT NULL,
    spent_usd   double precision NOT NULL,
    ceiling_usd double precision NOT NULL,
    observed_ns bigint  NOT NULL,
    seq         bigint  NOT NULL,
    PRIMARY KEY (org_id, stack_id, agent_id, scope, session_id)
);

-- Latest event per brokered credential.
CREATE TABLE fleet_credentials (
    org_id         text    NOT NULL,
    stack_id       text    NOT NULL,
    agent_id       text    NOT NULL,
    credential_key text    NOT NULL,
    source         text    NOT NULL,
    scope          text    NOT NULL,
    expires_at     timestamptz,
    event          text    NOT NULL,
    observed_ns    bigint  NOT NULL,
    seq            bigint  NOT NULL,
    PRIMARY KEY (org_id, stack_id, agent_id, credential_key)
);

CREATE INDEX fleet_credentials_expiry ON fleet_credentials (org_id, expires_at);

-- Every distinct applied configuration seen (the apply history).
CREATE TABLE fleet_applies (
    org_id         text    NOT NULL,
    stack_id       text    NOT NULL,
    commit         text    NOT NULL,
    applied_at     timestamptz NOT NULL,
    operator       text    NOT NULL,
    summary        text    NOT NULL,
    branch         text    NOT NULL,
    remote_url     text    NOT NULL,
    policy_version text    NOT NULL,
    first_seen_ns  bigint  NOT NULL,
    PRIMARY KEY (org_id, stack_id, applied_at, commit)
);

-- Providers declared by the stack's latest status report.
CREATE TABLE fleet_providers (
    org_id               text    NOT NULL,
    stack_id             text    NOT NULL,
    name                 text    NOT NULL,
    version              text    NOT NULL,
    capabilities         text[]  NOT NULL,
    health               text    NOT NULL,
    health_message       text    NOT NULL,
    last_success_at      timestamptz,
    identity_verified_at timestamptz,
    PRIMARY KEY (org_id, stack_id, name)
);
