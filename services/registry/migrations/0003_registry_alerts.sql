-- Registry pack version alerts (issue 15 item 6; services/registry/alerts.py): which stacks
-- import which artifact version (from their applied governance.fms, read through the fleet),
-- the alerts raised about them (one per organisation, stack, artifact, imported version and
-- latest version / yank) with what the daemon answered, and the alerts consumer's position
-- on approvals.events.v1 (the acknowledgements). Every row names its organisation and every
-- query of these tables is scoped by it.
CREATE TABLE registry_stack_imports (
    org_id         uuid        NOT NULL REFERENCES orgs (org_id),
    stack_id       text        NOT NULL,
    kind           text        NOT NULL CHECK (kind IN ('provider', 'policy', 'framework')),
    name           text        NOT NULL,
    version        text        NOT NULL,
    import_path    text        NOT NULL DEFAULT '',
    config_sha256  text        NOT NULL,
    seen_at        timestamptz NOT NULL,
    PRIMARY KEY (org_id, stack_id, kind, name, version)
);
CREATE INDEX registry_stack_imports_artifact ON registry_stack_imports (kind, name);

CREATE TABLE registry_alerts (
    alert_id          uuid        PRIMARY KEY,  -- uuid5 of its natural key; the delivery's id too
    org_id            uuid        NOT NULL REFERENCES orgs (org_id),
    stack_id          text        NOT NULL,
    kind              text        NOT NULL,
    name              text        NOT NULL,
    imported_version  text        NOT NULL,
    latest_version    text        NOT NULL,  -- '' when a yanked version has no published successor
    yanked            boolean     NOT NULL,
    severity          text        NOT NULL CHECK (severity IN ('info', 'critical')),
    summary           text        NOT NULL,
    details_url       text        NOT NULL,
    import_path       text        NOT NULL DEFAULT '',
    raised_at         timestamptz NOT NULL,
    handed_out        integer     NOT NULL DEFAULT 0,
    delivered_at      timestamptz,
    acked_at          timestamptz,
    outcome           text        NOT NULL DEFAULT '',
    message           text        NOT NULL DEFAULT '',
    closed_at         timestamptz,
    closed_reason     text        NOT NULL DEFAULT '',
    UNIQUE (org_id, stack_id, kind, name, imported_version, latest_version, yanked)
);
CREATE INDEX registry_alerts_open ON registry_alerts (org_id, stack_id, raised_at) WHERE closed_at IS NULL;

CREATE TABLE registry_alert_positions (
    topic       text    NOT NULL,
    partition   integer NOT NULL,
    next_offset bigint  NOT NULL,
    PRIMARY KEY (topic, partition)
);
