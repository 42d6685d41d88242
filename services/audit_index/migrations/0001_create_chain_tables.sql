-- Audit index: the chain-integrity projection over dpr.records.v1 (component "audit_index").
-- Every tenant row carries org_id, first in its key. The projection's consumed log
-- position is written in the same transaction as the rows it produced, so a replay (a
-- redelivered batch, or the topic from offset 0) skips what is already applied, and a
-- rebuild into empty tables reproduces them.

-- Per agent chain: its tip and shape. One chain per (org, stack, agent_id).
CREATE TABLE audit_chain_agents (
    org_id            text    NOT NULL,
    stack_id          text    NOT NULL,
    agent_id          text    NOT NULL,
    tip_hash          text    NOT NULL,
    tip_record_id     text    NOT NULL,
    chain_length      bigint  NOT NULL CHECK (chain_length >= 0),
    segments          integer NOT NULL CHECK (segments >= 0),
    last_lamport      bigint  NOT NULL,
    first_created_at  text    NOT NULL,  -- the record's created_at, exact (nanoseconds)
    last_created_at   text    NOT NULL,
    last_verified_ns  bigint  NOT NULL,  -- receive time of the last record verified
    PRIMARY KEY (org_id, stack_id, agent_id)
);

-- Every record that joined a chain, by hash: what the verifier needs to tell a duplicate
-- from a new record and a broken link (to a known record) from a gap (to an unknown one).
CREATE TABLE audit_chain_records (
    org_id       text   NOT NULL,
    stack_id     text   NOT NULL,
    agent_id     text   NOT NULL,
    record_hash  text   NOT NULL,
    record_id    text   NOT NULL,
    chain_index  bigint NOT NULL,  -- 0-based position in the agent's chain
    PRIMARY KEY (org_id, stack_id, agent_id, record_hash)
);
CREATE INDEX audit_chain_records_by_id ON audit_chain_records (org_id, record_id);

-- Findings: keyed by record and kind, so a replay cannot add one twice.
CREATE TABLE audit_chain_findings (
    org_id             text   NOT NULL,
    stack_id           text   NOT NULL,
    agent_id           text   NOT NULL,
    record_id          text   NOT NULL,
    record_hash        text   NOT NULL,
    kind               text   NOT NULL,
    severity           text   NOT NULL CHECK (severity IN ('critical', 'warning', 'info')),
    message            text   NOT NULL,
    chain_index        bigint NOT NULL,
    log_position       text   NOT NULL,
    record_created_at  text   NOT NULL,
    detected_ns        bigint NOT NULL,
    PRIMARY KEY (org_id, stack_id, agent_id, record_id, record_hash, kind)
);
CREATE INDEX audit_chain_findings_by_id ON audit_chain_findings (org_id, record_id);

-- Critical alerts (hash mismatch, broken link, gap, invalid genesis, bad or untrusted
-- signature), for Home and notifications. created_at is when the offending record was
-- received, so a rebuild gives the same rows; acknowledging is a human action on top.
CREATE TABLE audit_alerts (
    alert_id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id             text        NOT NULL,
    stack_id           text        NOT NULL,
    agent_id           text        NOT NULL,
    record_id          text        NOT NULL,
    record_hash        text        NOT NULL,
    kind               text        NOT NULL,
    severity           text        NOT NULL DEFAULT 'critical',
    message            text        NOT NULL,
    record_created_at  text        NOT NULL,
    created_at         timestamptz NOT NULL,
    acknowledged       boolean     NOT NULL DEFAULT false,
    acknowledged_at    timestamptz,
    acknowledged_by    text,
    UNIQUE (org_id, stack_id, agent_id, record_id, record_hash, kind)
);
CREATE INDEX audit_alerts_open ON audit_alerts (org_id, created_at DESC) WHERE NOT acknowledged;

-- The live-tail order: a dense per-organisation sequence given to each indexed row. Rows
-- are inserted into ClickHouse before this commits, so every sequence below next_seq is
-- searchable once next_seq is visible (the tail reads up to it and never skips a row).
CREATE TABLE audit_org_sequences (
    org_id    text   PRIMARY KEY,
    next_seq  bigint NOT NULL CHECK (next_seq >= 0)
);

-- The projection's consumed position per log partition (no tenant data: one partition
-- carries many organisations' stacks).
CREATE TABLE audit_index_positions (
    projection   text        NOT NULL,
    topic        text        NOT NULL,
    partition    integer     NOT NULL,
    next_offset  bigint      NOT NULL CHECK (next_offset >= 0),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, topic, partition)
);
