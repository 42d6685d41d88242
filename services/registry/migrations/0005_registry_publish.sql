-- Publishing (docs/registry-publish.md): versions asked for and their review outcome, and the
-- issue reports any organisation files against a published version, with the publisher's
-- replies. Namespaces are registry_publishers (0001).
CREATE TABLE registry_submissions (
    submission_id uuid        PRIMARY KEY,
    org_id        uuid        NOT NULL,                 -- the publishing organisation
    kind          text        NOT NULL CHECK (kind IN ('provider', 'policy', 'framework')),
    name          text        NOT NULL,
    version       text        NOT NULL,
    state         text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'approved', 'rejected')),
    submitted_at  timestamptz NOT NULL,
    submitted_by  text        NOT NULL,
    description   text        NOT NULL DEFAULT '',
    changelog     text        NOT NULL DEFAULT '',
    category      text        NOT NULL DEFAULT '',
    domains       text[]      NOT NULL DEFAULT '{}',
    meta          jsonb       NOT NULL DEFAULT '{}',    -- parameter_schema, config_schema, dev_only, publisher_signature
    body_sha256   text,                                 -- the FPL blob (policy / framework)
    readme_sha256 text,
    manifest      jsonb,                                -- provider: the manifest as uploaded (unsigned)
    binaries      jsonb       NOT NULL DEFAULT '{}',    -- provider: platform -> {sha256, size, smoke}
    reviewed_at   timestamptz,
    reviewed_by   text        NOT NULL DEFAULT '',
    reason        text        NOT NULL DEFAULT ''       -- mandatory on rejection; shown to the publisher
);
-- One version waits for review at most once.
CREATE UNIQUE INDEX registry_submissions_pending ON registry_submissions (kind, name, version) WHERE state = 'pending';
CREATE INDEX registry_submissions_org ON registry_submissions (org_id, submitted_at);

CREATE TABLE registry_issue_reports (
    issue_id      uuid        PRIMARY KEY,
    kind          text        NOT NULL,
    name          text        NOT NULL,
    version       text        NOT NULL,
    reporter_org  uuid        NOT NULL,                 -- sees its own reports and their replies
    reporter      text        NOT NULL,
    title         text        NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    body          text        NOT NULL,
    created_at    timestamptz NOT NULL,
    FOREIGN KEY (kind, name, version) REFERENCES registry_versions (kind, name, version)
);
CREATE INDEX registry_issue_reports_version ON registry_issue_reports (kind, name, version, created_at);
CREATE INDEX registry_issue_reports_reporter ON registry_issue_reports (reporter_org, created_at);

CREATE TABLE registry_issue_replies (
    reply_id      uuid        PRIMARY KEY,
    issue_id      uuid        NOT NULL REFERENCES registry_issue_reports (issue_id),
    org_id        uuid        NOT NULL,                 -- the publisher's organisation
    author        text        NOT NULL,
    body          text        NOT NULL,
    created_at    timestamptz NOT NULL
);
CREATE INDEX registry_issue_replies_issue ON registry_issue_replies (issue_id, created_at);
