-- Notifications: destinations (reusable across stacks; secrets encrypted), routing rules with
-- escalation steps, the service's own projection of approval requests, the delivery outbox
-- (written in the same transaction as the consumed position) and that position.
CREATE TABLE notification_destinations (
    destination_id uuid        PRIMARY KEY,
    org_id         uuid        NOT NULL REFERENCES orgs (org_id),
    name           text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    kind           text        NOT NULL CHECK (kind IN ('slack_webhook', 'slack_api', 'pagerduty', 'email', 'webhook')),
    config         jsonb       NOT NULL,           -- shown in the UI; never a secret
    secret         bytea       NOT NULL,           -- AES-256-GCM (nonce || ciphertext) of the secret fields
    created_at     timestamptz NOT NULL DEFAULT now(),
    created_by     text        NOT NULL DEFAULT '',
    UNIQUE (org_id, name)
);

CREATE TABLE notification_rules (
    rule_id    uuid        PRIMARY KEY,
    org_id     uuid        NOT NULL REFERENCES orgs (org_id),
    stack_id   text        NOT NULL DEFAULT '',    -- '' = any stack
    agent_id   text        NOT NULL DEFAULT '',    -- '' = any agent
    steps      jsonb       NOT NULL,               -- [{"after_minutes": 0, "destinations": [ids]}, ...]
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, stack_id, agent_id)
);

CREATE TABLE notification_requests (
    org_id          uuid        NOT NULL REFERENCES orgs (org_id),
    stack_id        text        NOT NULL,
    defer_token     text        NOT NULL,
    agent_id        text        NOT NULL,
    tool_id         text        NOT NULL DEFAULT '',
    session_id      text        NOT NULL DEFAULT '',
    reason          text        NOT NULL DEFAULT '',
    priority        text        NOT NULL DEFAULT 'normal',
    matched_rule_id text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    deadline        timestamptz NOT NULL,
    opened_at       timestamptz NOT NULL,            -- when this service first saw it pending
    state           text        NOT NULL CHECK (state IN ('open', 'resolved')),
    outcome         text        NOT NULL DEFAULT '',
    resolved_by     text        NOT NULL DEFAULT '',
    rule_id         uuid,                            -- the rule chosen when it opened
    steps_sent      integer     NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, stack_id, defer_token)
);
CREATE INDEX notification_requests_open ON notification_requests (opened_at) WHERE state = 'open';

CREATE TABLE notification_outbox (
    notification_id uuid        PRIMARY KEY,         -- also the webhook-id / idempotency key
    org_id          uuid        NOT NULL REFERENCES orgs (org_id),
    destination_id  uuid        NOT NULL REFERENCES notification_destinations (destination_id) ON DELETE CASCADE,
    stack_id        text        NOT NULL DEFAULT '',
    defer_token     text        NOT NULL DEFAULT '',
    event           text        NOT NULL,
    step            integer     NOT NULL DEFAULT 0,
    notice          jsonb       NOT NULL,
    state           text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error      text        NOT NULL DEFAULT '',
    last_status     integer,
    created_at      timestamptz NOT NULL,
    delivered_at    timestamptz,
    UNIQUE (org_id, destination_id, stack_id, defer_token, event, step)
);
CREATE INDEX notification_outbox_due ON notification_outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX notification_outbox_recent ON notification_outbox (org_id, created_at DESC);

CREATE TABLE notification_positions (
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

GRANT SELECT, INSERT, UPDATE, DELETE ON notification_destinations, notification_rules TO faramesh_app;
GRANT SELECT, INSERT ON notification_outbox TO faramesh_app;
GRANT SELECT ON notification_requests TO faramesh_app;
ALTER TABLE notification_destinations ENABLE ROW LEVEL SECURITY;
ALTER TABLE notification_rules ENABLE ROW LEVEL SECURITY;
ALTER TABLE notification_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE notification_outbox ENABLE ROW LEVEL SECURITY;
CREATE POLICY notification_destinations_tenant ON notification_destinations TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
CREATE POLICY notification_rules_tenant ON notification_rules TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
CREATE POLICY notification_requests_tenant ON notification_requests TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
CREATE POLICY notification_outbox_tenant ON notification_outbox TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
