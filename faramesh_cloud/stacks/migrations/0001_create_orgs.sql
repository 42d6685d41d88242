-- Organisations: the tenant boundary. Kept minimal on purpose; members, roles, SSO and
-- billing extend it in later migrations of their own.
CREATE TABLE orgs (
    org_id     uuid        PRIMARY KEY,
    slug       text        NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    name       text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now()
);
