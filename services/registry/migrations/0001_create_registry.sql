-- Registry (global catalog, public reads): trust keys, publishers (namespaces), artifacts,
-- their versions and provider binaries, daily download counts, the service's outbox onto
-- registry.events.v1 and its positions. Bytes (FPL bodies, YAML sidecars, READMEs, binaries)
-- live in the BlobStore, addressed by SHA-256; rows name them.
CREATE TABLE registry_keys (
    key_id      text        PRIMARY KEY CHECK (key_id ~ '^[A-Za-z0-9._-]{1,128}$'),
    algorithm   text        NOT NULL DEFAULT 'ed25519' CHECK (algorithm = 'ed25519'),
    public_key  bytea       NOT NULL UNIQUE CHECK (length(public_key) = 32),
    owner       text        NOT NULL DEFAULT '',
    origin      text        NOT NULL CHECK (origin IN ('official', 'cloud')),
    purpose     text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    retired_at  timestamptz
);
-- At most one Cloud key signs at a time; retired ones keep verifying and stay listed.
CREATE UNIQUE INDEX registry_keys_one_active_cloud ON registry_keys (origin) WHERE origin = 'cloud' AND retired_at IS NULL;

CREATE TABLE registry_publishers (
    namespace    text        PRIMARY KEY CHECK (namespace ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
    org_id       uuid,                                -- NULL: the official namespace (no organisation)
    display_name text        NOT NULL DEFAULT '',
    state        text        NOT NULL CHECK (state IN ('pending', 'confirmed', 'rejected')),
    claimed_at   timestamptz NOT NULL,
    claimed_by   text        NOT NULL DEFAULT '',
    reviewed_at  timestamptz,
    reviewed_by  text        NOT NULL DEFAULT '',
    reason       text        NOT NULL DEFAULT ''
);
CREATE INDEX registry_publishers_org ON registry_publishers (org_id) WHERE org_id IS NOT NULL;

CREATE TABLE registry_artifacts (
    kind         text        NOT NULL CHECK (kind IN ('provider', 'policy', 'framework')),
    name         text        NOT NULL,
    namespace    text        NOT NULL REFERENCES registry_publishers (namespace),
    description  text        NOT NULL DEFAULT '',
    category     text        NOT NULL DEFAULT '',
    domains      text[]      NOT NULL DEFAULT '{}',
    trust_tier   text        NOT NULL CHECK (trust_tier IN ('official', 'community')),
    capabilities text[]      NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (kind, name)
);

CREATE TABLE registry_versions (
    kind          text        NOT NULL,
    name          text        NOT NULL,
    version       text        NOT NULL,
    major         integer     NOT NULL,
    minor         integer     NOT NULL,
    patch         integer     NOT NULL,
    prerelease    text        NOT NULL DEFAULT '',
    state         text        NOT NULL DEFAULT 'published' CHECK (state IN ('published', 'yanked')),
    published_at  timestamptz NOT NULL,
    published_by  text        NOT NULL DEFAULT '',
    source        text        NOT NULL CHECK (source IN ('seed', 'publish', 'mirror')),
    changelog     text        NOT NULL DEFAULT '',
    readme_sha256 text        CHECK (readme_sha256 ~ '^[0-9a-f]{64}$'),
    meta          jsonb       NOT NULL DEFAULT '{}',   -- parameter_schema, config_schema, rules_summary, compatibility, faramesh_version, dev_only
    body_sha256   text        CHECK (body_sha256 ~ '^[0-9a-f]{64}$'),   -- policy/profile FPL
    body_size     bigint,
    yaml_sha256   text        CHECK (yaml_sha256 ~ '^[0-9a-f]{64}$'),
    manifest      jsonb,                                -- provider manifest exactly as signed
    signature     jsonb       NOT NULL,                 -- the .fpl.sig JSON or the manifest's signature, verbatim
    key_id        text        NOT NULL REFERENCES registry_keys (key_id),
    yanked_at     timestamptz,
    yanked_by     text        NOT NULL DEFAULT '',
    yank_reason   text        NOT NULL DEFAULT '',
    PRIMARY KEY (kind, name, version),
    FOREIGN KEY (kind, name) REFERENCES registry_artifacts (kind, name),
    CHECK ((kind = 'provider') = (manifest IS NOT NULL)),
    CHECK ((kind = 'provider') OR body_sha256 IS NOT NULL),
    CHECK ((state = 'yanked') = (yanked_at IS NOT NULL))
);
CREATE INDEX registry_versions_order ON registry_versions (kind, name, major DESC, minor DESC, patch DESC);

CREATE TABLE registry_binaries (
    kind          text    NOT NULL DEFAULT 'provider' CHECK (kind = 'provider'),   -- for the foreign key
    name          text    NOT NULL,
    version       text    NOT NULL,
    platform      text    NOT NULL CHECK (platform ~ '^[a-z0-9]+_[a-z0-9]+$'),
    sha256        text    NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size          bigint  NOT NULL CHECK (size >= 0),
    signature_b64 text    NOT NULL,                     -- the binary's .sig (bare base64)
    hosted        boolean NOT NULL,                     -- false: signature known, bytes not here (the snapshot's)
    PRIMARY KEY (name, version, platform),
    FOREIGN KEY (kind, name, version) REFERENCES registry_versions (kind, name, version)
);

CREATE TABLE registry_downloads (
    kind    text   NOT NULL,
    name    text   NOT NULL,
    version text   NOT NULL,
    day     date   NOT NULL,
    count   bigint NOT NULL CHECK (count >= 0),
    PRIMARY KEY (kind, name, version, day),
    FOREIGN KEY (kind, name, version) REFERENCES registry_versions (kind, name, version)
);

CREATE TABLE registry_outbox (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic       text        NOT NULL,
    key         bytea       NOT NULL,
    value       bytea       NOT NULL,
    headers     bytea,
    created_at  timestamptz NOT NULL DEFAULT now(),
    parked_at   timestamptz,
    parked_reason text
);
CREATE INDEX registry_outbox_parked ON registry_outbox (id) WHERE parked_at IS NOT NULL;

CREATE TABLE registry_positions (
    topic       text    NOT NULL,
    partition   integer NOT NULL,
    next_offset bigint  NOT NULL,
    PRIMARY KEY (topic, partition)
);
