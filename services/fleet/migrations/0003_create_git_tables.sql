-- Git providers (docs/git-providers.md): connections (a provider, its API base URL and a token
-- sealed with the git_key, bound to the organisation and the connection), stacks mapped to a
-- repository + path + main branch of a connection, and the latest drift check per mapped
-- stack (the head commit and the governance.fms text there). Platform-like state people
-- configure, in PostgreSQL with the fleet's tables (backed up with the database), each change
-- with its platform audit entry in the same transaction. Row-level security as forwarding's.
CREATE TABLE fleet_git_connections (
    connection_id uuid        PRIMARY KEY,
    org_id        uuid        NOT NULL REFERENCES orgs (org_id),
    name          text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    provider      text        NOT NULL CHECK (provider IN ('github', 'gitlab', 'bitbucket', 'azure_devops')),
    base_url      text        NOT NULL,
    username      text        NOT NULL DEFAULT '',   -- Bitbucket app passwords only (not a secret)
    token_hint    text        NOT NULL DEFAULT '',   -- the token's last 4 characters
    secret        bytea       NOT NULL,              -- AES-256-GCM (nonce || ciphertext) of {"token": ...}
    created_at    timestamptz NOT NULL,
    created_by    text        NOT NULL DEFAULT '',
    UNIQUE (org_id, name)
);

CREATE TABLE fleet_git_mappings (
    org_id        uuid        NOT NULL REFERENCES orgs (org_id),
    stack_id      text        NOT NULL,
    connection_id uuid        NOT NULL REFERENCES fleet_git_connections (connection_id) ON DELETE CASCADE,
    repository    text        NOT NULL,
    path          text        NOT NULL,
    branch        text        NOT NULL,
    mapped_at     timestamptz NOT NULL,
    mapped_by     text        NOT NULL DEFAULT '',
    PRIMARY KEY (org_id, stack_id)
);

CREATE TABLE fleet_git_drift (
    org_id       uuid        NOT NULL REFERENCES orgs (org_id),
    stack_id     text        NOT NULL,
    checked_at   timestamptz NOT NULL,
    head_commit  text        NOT NULL DEFAULT '',
    head_text    text,                               -- NULL when the check failed
    error        text        NOT NULL DEFAULT '',    -- why the check failed ('' when it did not)
    PRIMARY KEY (org_id, stack_id)
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

GRANT SELECT, INSERT, UPDATE, DELETE ON fleet_git_connections, fleet_git_mappings, fleet_git_drift TO faramesh_app;
ALTER TABLE fleet_git_connections ENABLE ROW LEVEL SECURITY;
ALTER TABLE fleet_git_mappings ENABLE ROW LEVEL SECURITY;
ALTER TABLE fleet_git_drift ENABLE ROW LEVEL SECURITY;
CREATE POLICY fleet_git_connections_tenant ON fleet_git_connections TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
CREATE POLICY fleet_git_mappings_tenant ON fleet_git_mappings TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
CREATE POLICY fleet_git_drift_tenant ON fleet_git_drift TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
