-- Compliance: declared frameworks, report jobs, the evidence library (artifacts and auditor
-- share links), evaluated posture with its daily history, the service's applied events, its
-- outbox and its position on compliance.events.v1.
CREATE TABLE compliance_frameworks (
    org_id      uuid        NOT NULL REFERENCES orgs (org_id),
    framework   text        NOT NULL CHECK (framework IN ('soc2', 'hipaa', 'pci-dss', 'iso27001', 'gdpr')),
    declared_at timestamptz NOT NULL,
    declared_by text        NOT NULL DEFAULT '',
    PRIMARY KEY (org_id, framework)
);

CREATE TABLE compliance_reports (
    report_id    uuid        PRIMARY KEY,
    org_id       uuid        NOT NULL REFERENCES orgs (org_id),
    framework    text        NOT NULL,
    stack_ids    text[]      NOT NULL DEFAULT '{}',    -- empty: every stack
    range_start  timestamptz NOT NULL,
    range_end    timestamptz NOT NULL CHECK (range_end > range_start),
    requested_at timestamptz NOT NULL,
    requested_by text        NOT NULL DEFAULT '',      -- actor label
    actor_type   text        NOT NULL DEFAULT 'user',
    actor_id     text        NOT NULL DEFAULT '',
    retry_of     uuid,
    state        text        NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed')),
    -- live progress of a running job (not on the log: the job writes it as it goes)
    progress     real        NOT NULL DEFAULT 0,
    stage        text        NOT NULL DEFAULT '',
    error        text        NOT NULL DEFAULT '',
    artifact_id  uuid,
    finished_at  timestamptz
);
CREATE INDEX compliance_reports_org ON compliance_reports (org_id, requested_at DESC);
CREATE INDEX compliance_reports_queued ON compliance_reports (requested_at) WHERE state IN ('queued', 'running');

CREATE TABLE compliance_artifacts (
    artifact_id       uuid        PRIMARY KEY,
    org_id            uuid        NOT NULL REFERENCES orgs (org_id),
    kind              text        NOT NULL CHECK (kind IN ('report', 'dpr-export', 'platform-audit-export',
                                                           'integrity-certificate')),
    title             text        NOT NULL,
    parameters        jsonb       NOT NULL DEFAULT '{}',
    created_at        timestamptz NOT NULL,
    created_by        text        NOT NULL DEFAULT '',
    sha256            text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size              bigint      NOT NULL CHECK (size >= 0),
    filename          text        NOT NULL,
    media_type        text        NOT NULL,
    verification_hash text        NOT NULL DEFAULT '',
    report_id         uuid
);
CREATE INDEX compliance_artifacts_org ON compliance_artifacts (org_id, created_at DESC);

CREATE TABLE compliance_share_links (
    link_id      uuid        PRIMARY KEY,
    org_id       uuid        NOT NULL REFERENCES orgs (org_id),
    artifact_id  uuid        NOT NULL REFERENCES compliance_artifacts (artifact_id),
    token_sha256 bytea       NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
    created_at   timestamptz NOT NULL,
    created_by   text        NOT NULL DEFAULT '',
    expires_at   timestamptz NOT NULL,
    note         text        NOT NULL DEFAULT '',
    revoked_at   timestamptz,
    revoked_by   text        NOT NULL DEFAULT '',
    CHECK (expires_at > created_at)
);
CREATE INDEX compliance_share_links_artifact ON compliance_share_links (org_id, artifact_id);

-- Posture as last evaluated (per declared framework and control), and one row per day and
-- control with the status it ended that day with: the chart of posture over time.
CREATE TABLE compliance_posture (
    org_id       uuid        NOT NULL REFERENCES orgs (org_id),
    framework    text        NOT NULL,
    control_id   text        NOT NULL,
    status       text        NOT NULL CHECK (status IN ('evidence', 'policy', 'gap')),
    detail       jsonb       NOT NULL DEFAULT '{}',
    since        timestamptz NOT NULL,                 -- when it last changed status
    evaluated_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, framework, control_id)
);

CREATE TABLE compliance_posture_days (
    org_id     uuid NOT NULL REFERENCES orgs (org_id),
    framework  text NOT NULL,
    day        date NOT NULL,
    control_id text NOT NULL,
    status     text NOT NULL CHECK (status IN ('evidence', 'policy', 'gap')),
    PRIMARY KEY (org_id, framework, day, control_id)
);

CREATE TABLE compliance_applied_events (
    event_id   uuid        PRIMARY KEY,
    org_id     uuid        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE compliance_outbox (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic       text        NOT NULL,
    key         bytea       NOT NULL,
    value       bytea       NOT NULL,
    headers     bytea,
    created_at  timestamptz NOT NULL DEFAULT now(),
    parked_at   timestamptz,
    parked_reason text
);
CREATE INDEX compliance_outbox_parked ON compliance_outbox (id) WHERE parked_at IS NOT NULL;

CREATE TABLE compliance_positions (
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

GRANT SELECT, INSERT, UPDATE, DELETE ON compliance_frameworks, compliance_reports, compliance_artifacts,
    compliance_share_links, compliance_posture, compliance_posture_days TO faramesh_app;
GRANT SELECT, INSERT ON compliance_applied_events, compliance_outbox TO faramesh_app;
ALTER TABLE compliance_frameworks ENABLE ROW LEVEL SECURITY;
ALTER TABLE compliance_reports ENABLE ROW LEVEL SECURITY;
ALTER TABLE compliance_artifacts ENABLE ROW LEVEL SECURITY;
ALTER TABLE compliance_share_links ENABLE ROW LEVEL SECURITY;
ALTER TABLE compliance_posture ENABLE ROW LEVEL SECURITY;
ALTER TABLE compliance_posture_days ENABLE ROW LEVEL SECURITY;
ALTER TABLE compliance_applied_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY compliance_frameworks_tenant ON compliance_frameworks TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
CREATE POLICY compliance_reports_tenant ON compliance_reports TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
CREATE POLICY compliance_artifacts_tenant ON compliance_artifacts TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
CREATE POLICY compliance_share_links_tenant ON compliance_share_links TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
CREATE POLICY compliance_posture_tenant ON compliance_posture TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
CREATE POLICY compliance_posture_days_tenant ON compliance_posture_days TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
CREATE POLICY compliance_applied_events_tenant ON compliance_applied_events TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
