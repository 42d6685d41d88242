-- Approvals projection (from sync.items.v1 approval_event items), the decisions waiting for
-- their daemon (deliveries), emergency commands, and the projection's log position.
CREATE TABLE approvals (
    approval_id        uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id             uuid        NOT NULL REFERENCES orgs (org_id),
    stack_id           text        NOT NULL,
    defer_token        text        NOT NULL,
    agent_id           text        NOT NULL,
    tool_id            text        NOT NULL DEFAULT '',
    session_id         text        NOT NULL DEFAULT '',
    args_json          text        NOT NULL DEFAULT '',
    matched_rule_id    text        NOT NULL DEFAULT '',
    reason_code        text        NOT NULL DEFAULT '',
    reason             text        NOT NULL DEFAULT '',
    priority           text        NOT NULL DEFAULT 'normal',
    dpr_record_id      text        NOT NULL DEFAULT '',
    policy_version     text        NOT NULL DEFAULT '',
    created_at         timestamptz NOT NULL,
    deadline           timestamptz NOT NULL,
    state              text        NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'expired', 'withdrawn')),
    resolved_at        timestamptz,
    resolved_by        text        NOT NULL DEFAULT '',
    resolved_by_label  text        NOT NULL DEFAULT '',
    resolution_reason  text        NOT NULL DEFAULT '',
    resolution_source  text        NOT NULL DEFAULT '',
    decision_id        uuid,
    bulk_action_id     uuid,
    daemon_state       text        NOT NULL DEFAULT 'pending',
    UNIQUE (org_id, stack_id, defer_token)
);
CREATE INDEX approvals_queue ON approvals (org_id, state, created_at);

CREATE TABLE approval_deliveries (
    delivery_id    uuid        PRIMARY KEY,
    org_id         uuid        NOT NULL REFERENCES orgs (org_id),
    stack_id       text        NOT NULL,
    approval_id    uuid        NOT NULL REFERENCES approvals (approval_id),
    payload        bytea       NOT NULL,  -- the serialised sync.v1 Delivery
    created_at     timestamptz NOT NULL DEFAULT now(),
    handed_out     integer     NOT NULL DEFAULT 0,
    acked_at       timestamptz,
    outcome        text        NOT NULL DEFAULT '',
    message        text        NOT NULL DEFAULT '',
    dpr_record_id  text        NOT NULL DEFAULT ''
);
CREATE INDEX approval_deliveries_open ON approval_deliveries (stack_id, created_at) WHERE acked_at IS NULL;

CREATE TABLE emergency_commands (
    command_id      uuid        PRIMARY KEY,
    org_id          uuid        NOT NULL REFERENCES orgs (org_id),
    stack_id        text        NOT NULL,
    agent_id        text        NOT NULL,
    command_type    text        NOT NULL CHECK (command_type IN ('kill', 'isolate')),
    reason          text        NOT NULL,
    issued_by       text        NOT NULL,
    issued_by_label text        NOT NULL,
    issued_at       timestamptz NOT NULL DEFAULT now(),
    state           text        NOT NULL CHECK (state IN ('issued', 'delivered', 'acknowledged')),
    delivered_at    timestamptz,
    acked_at        timestamptz,
    applied_at      timestamptz,
    outcome         text        NOT NULL DEFAULT '',
    message         text        NOT NULL DEFAULT '',
    dpr_record_id   text        NOT NULL DEFAULT ''
);
CREATE INDEX emergency_commands_open ON emergency_commands (stack_id, issued_at) WHERE state <> 'acknowledged';

CREATE TABLE approvals_positions (
    topic       text    NOT NULL,
    partition   integer NOT NULL,
    next_offset bigint  NOT NULL,
    PRIMARY KEY (topic, partition)
);

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

GRANT SELECT, INSERT, UPDATE ON approvals, approval_deliveries, emergency_commands TO faramesh_app;
ALTER TABLE approvals ENABLE ROW LEVEL SECURITY;
ALTER TABLE approval_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE emergency_commands ENABLE ROW LEVEL SECURITY;
CREATE POLICY approvals_tenant ON approvals TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
CREATE POLICY approval_deliveries_tenant ON approval_deliveries TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
CREATE POLICY emergency_commands_tenant ON emergency_commands TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
