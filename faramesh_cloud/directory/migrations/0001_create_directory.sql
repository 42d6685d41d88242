-- The global directory (faramesh_cloud/directory): where each organisation, person and stack
-- lives. Global on purpose (one database shared by every region), so no org_id scoping:
-- its rows say which region to ask, and nothing about what that region holds.
CREATE TABLE directory_orgs (
    org_id     uuid        PRIMARY KEY,
    slug       text        NOT NULL UNIQUE,
    region     text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- A person's home region: the region where their account was first made.
CREATE TABLE directory_users (
    email       text        PRIMARY KEY CHECK (email = lower(email)),
    home_region text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- A stack (for the daemon webhooks, addressed by stack id) and each stack key by its key id
-- (the non-secret part of fmc_sk_<key_id>_<secret>); secrets never leave their region.
CREATE TABLE directory_stacks (
    stack_id   uuid        PRIMARY KEY,
    region     text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE directory_stack_keys (
    key_id     text        PRIMARY KEY CHECK (key_id ~ '^[0-9a-f]{16}$'),
    region     text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
