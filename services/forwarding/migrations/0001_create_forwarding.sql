-- Observability forwarding: per organisation destinations (secrets sealed), the outbox the
-- DPR consumer fills in its sink's transaction (one row per destination and item; also the
-- delivery state a person reads), the log of every send attempt, decision counts per minute
-- and the consumer's log position.
CREATE TABLE forwarding_destinations (
    destination_id uuid        PRIMARY KEY,
    org_id         uuid        NOT NULL REFERENCES orgs (org_id),
    name           text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    kind           text        NOT NULL CHECK (kind IN ('datadog', 'grafana_otlp', 'splunk_hec', 'elastic', 'otlp')),
    config         jsonb       NOT NULL,           -- shown in the UI; never a secret
    secret         bytea       NOT NULL,           -- AES-256-GCM (nonce || ciphertext) of the secret fields
    forward_dprs   boolean     NOT NULL DEFAULT true,
    forward_metrics boolean    NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL,
    created_by     text        NOT NULL DEFAULT '',
    UNIQUE (org_id, name)
);

CREATE TABLE forwarding_outbox (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id          uuid        NOT NULL REFERENCES orgs (org_id),
    destination_id  uuid        NOT NULL REFERENCES forwarding_destinations (destination_id) ON DELETE CASCADE,
    stack_id        text        NOT NULL,
    item_kind       text        NOT NULL CHECK (item_kind IN ('dpr', 'legacy', 'metrics')),
    item_key        text        NOT NULL,          -- dpr/<stack>/<record_id>, legacy/<stack>/<id> or metrics/<stack>/<minute>/<effect>/<n>
    payload         text        NOT NULL,          -- a DPR's JSON as the daemon wrote it, a legacy summary, or a metrics point
    created_ns      bigint      NOT NULL DEFAULT 0, -- when the daemon decided (the DPR's created_at)
    received_ns     bigint      NOT NULL DEFAULT 0, -- when ingest received it
    state           text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_status     integer,
    last_error      text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    done_at         timestamptz,
    UNIQUE (destination_id, item_key)
);
CREATE INDEX forwarding_outbox_due ON forwarding_outbox (destination_id, next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX forwarding_outbox_done ON forwarding_outbox (done_at) WHERE state <> 'pending';

CREATE TABLE forwarding_delivery_log (
    id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id         uuid        NOT NULL REFERENCES orgs (org_id),
    destination_id uuid        NOT NULL REFERENCES forwarding_destinations (destination_id) ON DELETE CASCADE,
    at             timestamptz NOT NULL,
    items          integer     NOT NULL,
    outcome        text        NOT NULL CHECK (outcome IN ('delivered', 'retrying', 'failed')),
    attempts       integer     NOT NULL,          -- the highest attempt number of the batch
    http_status    integer,
    error          text        NOT NULL DEFAULT ''
);
CREATE INDEX forwarding_delivery_log_recent ON forwarding_delivery_log (org_id, at DESC);
CREATE INDEX forwarding_delivery_log_at ON forwarding_delivery_log (at);

CREATE TABLE forwarding_decision_counts (
    org_id   uuid        NOT NULL REFERENCES orgs (org_id),
    stack_id text        NOT NULL,
    minute   timestamptz NOT NULL,
    effect   text        NOT NULL,
    count    bigint      NOT NULL,
    sent     bigint      NOT NULL DEFAULT 0,      -- how much of count the metrics sweep has queued
    PRIMARY KEY (org_id, stack_id, minute, effect)
);
CREATE INDEX forwarding_decision_counts_unsent ON forwarding_decision_counts (minute) WHERE count > sent;

CREATE TABLE forwarding_positions (
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

GRANT SELECT, INSERT, UPDATE, DELETE ON forwarding_destinations TO faramesh_app;
GRANT SELECT ON forwarding_outbox, forwarding_delivery_log, forwarding_decision_counts TO faramesh_app;
ALTER TABLE forwarding_destinations ENABLE ROW LEVEL SECURITY;
ALTER TABLE forwarding_outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE forwarding_delivery_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE forwarding_decision_counts ENABLE ROW LEVEL SECURITY;
CREATE POLICY forwarding_destinations_tenant ON forwarding_destinations TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
CREATE POLICY forwarding_outbox_tenant ON forwarding_outbox TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
CREATE POLICY forwarding_delivery_log_tenant ON forwarding_delivery_log TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
CREATE POLICY forwarding_decision_counts_tenant ON forwarding_decision_counts TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
