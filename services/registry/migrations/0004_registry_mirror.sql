-- Mirroring an upstream registry (services/registry/mirror.py; docs/registry-mirror.md).

-- A key the operator pins for a mirror (other than the official one) is listed with origin
-- 'mirror', so the versions it signed can name it (registry_versions.key_id references it).
ALTER TABLE registry_keys DROP CONSTRAINT registry_keys_origin_check;
ALTER TABLE registry_keys ADD CONSTRAINT registry_keys_origin_check
    CHECK (origin IN ('official', 'cloud', 'mirror'));

-- One row a run (on demand or on the schedule), updated as it goes: the progress people see.
CREATE TABLE registry_mirror_runs (
    run_id       uuid        PRIMARY KEY,
    ordinal      bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,   -- the order runs started in
    source       text        NOT NULL,
    trigger      text        NOT NULL CHECK (trigger IN ('demand', 'schedule')),
    pinned_keys  text[]      NOT NULL DEFAULT '{}',
    state        text        NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'finished', 'failed')),
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    total        integer     NOT NULL DEFAULT 0,
    done         integer     NOT NULL DEFAULT 0,
    current_item text        NOT NULL DEFAULT '',
    mirrored     integer     NOT NULL DEFAULT 0,
    unchanged    integer     NOT NULL DEFAULT 0,
    quarantined  integer     NOT NULL DEFAULT 0,
    failed       integer     NOT NULL DEFAULT 0,
    errors       jsonb       NOT NULL DEFAULT '[]'   -- [{item, error}]: fetches that failed (retried next run)
);

-- What a mirror refused to serve, and why: a signature that fails, a key not pinned, a body
-- whose sha256 does not match, a changed body for a version already here. Never a version row,
-- so neither the daemon API nor the browse reads can serve it. One row per (source, item,
-- reason); a later run that meets it again only moves last_seen.
CREATE TABLE registry_mirror_quarantine (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source       text        NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('provider', 'policy', 'framework')),
    name         text        NOT NULL,
    version      text        NOT NULL,
    reason       text        NOT NULL,
    detail       jsonb       NOT NULL DEFAULT '{}',
    first_run_id uuid        NOT NULL REFERENCES registry_mirror_runs (run_id),
    last_run_id  uuid        NOT NULL REFERENCES registry_mirror_runs (run_id),
    first_seen   timestamptz NOT NULL,
    last_seen    timestamptz NOT NULL,
    UNIQUE (source, kind, name, version, reason)
);
CREATE INDEX registry_mirror_quarantine_item ON registry_mirror_quarantine (kind, name, version);
