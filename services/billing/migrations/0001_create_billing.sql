-- Billing: usage meters the consumers fill from the log (counts per organisation, month and
-- meter; distinct items such as stacks, reports and registry versions), seat snapshots, the
-- organisation's plan, issued invoices (immutable), the outbox of billing.events.v1 and the
-- consumers' log positions.
CREATE TABLE billing_usage_counts (
    org_id uuid   NOT NULL,
    month  text   NOT NULL CHECK (month ~ '^[0-9]{4}-[0-9]{2}$'),
    meter  text   NOT NULL,
    count  bigint NOT NULL,
    PRIMARY KEY (org_id, month, meter)
);

CREATE TABLE billing_usage_items (
    org_id uuid   NOT NULL,
    month  text   NOT NULL CHECK (month ~ '^[0-9]{4}-[0-9]{2}$'),
    meter  text   NOT NULL,
    item   text   NOT NULL,          -- a stack id, a report's artifact id, <kind>/<name>@<version>
    amount bigint NOT NULL,          -- 1, or the bytes a registry version stores
    PRIMARY KEY (org_id, month, meter, item)
);

CREATE TABLE billing_seats (
    org_id   uuid        NOT NULL,
    month    text        NOT NULL CHECK (month ~ '^[0-9]{4}-[0-9]{2}$'),
    seats    integer     NOT NULL,   -- the month's highest snapshot
    taken_at timestamptz NOT NULL,   -- the latest snapshot
    PRIMARY KEY (org_id, month)
);

CREATE TABLE billing_plans (
    org_id   uuid        PRIMARY KEY,
    plan_id  text        NOT NULL,
    set_at   timestamptz NOT NULL,
    set_by   text        NOT NULL,
    event_id uuid        NOT NULL UNIQUE
);

CREATE TABLE billing_invoices (
    org_id         uuid        NOT NULL,
    month          text        NOT NULL CHECK (month ~ '^[0-9]{4}-[0-9]{2}$'),
    invoice_number text        NOT NULL,
    plan_id        text        NOT NULL,
    plan_name      text        NOT NULL,
    currency       text        NOT NULL,
    lines          jsonb       NOT NULL,
    total_cents    bigint      NOT NULL,
    issued_at      timestamptz NOT NULL,
    issued_by      text        NOT NULL,
    event_id       uuid        NOT NULL UNIQUE,
    PRIMARY KEY (org_id, month)
);

CREATE TABLE billing_outbox (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic       text        NOT NULL,
    key         bytea       NOT NULL,
    value       bytea       NOT NULL,
    headers     bytea,
    created_at  timestamptz NOT NULL DEFAULT now(),
    parked_at   timestamptz,
    parked_reason text
);
CREATE INDEX billing_outbox_parked ON billing_outbox (id) WHERE parked_at IS NOT NULL;

CREATE TABLE billing_positions (
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

GRANT SELECT ON billing_usage_counts, billing_usage_items TO faramesh_app;
GRANT SELECT, INSERT, UPDATE ON billing_seats, billing_plans TO faramesh_app;
GRANT SELECT, INSERT ON billing_invoices, billing_outbox TO faramesh_app;
ALTER TABLE billing_usage_counts ENABLE ROW LEVEL SECURITY;
ALTER TABLE billing_usage_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE billing_seats ENABLE ROW LEVEL SECURITY;
ALTER TABLE billing_plans ENABLE ROW LEVEL SECURITY;
ALTER TABLE billing_invoices ENABLE ROW LEVEL SECURITY;
CREATE POLICY billing_usage_counts_tenant ON billing_usage_counts TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
CREATE POLICY billing_usage_items_tenant ON billing_usage_items TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
CREATE POLICY billing_seats_tenant ON billing_seats TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
CREATE POLICY billing_plans_tenant ON billing_plans TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
CREATE POLICY billing_invoices_tenant ON billing_invoices TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
