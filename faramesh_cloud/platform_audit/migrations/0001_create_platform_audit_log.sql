-- The platform audit log: one hash chain per organisation (see faramesh_cloud/platform_audit/
-- chain.py for the canonical form). Entries are never changed or deleted; the head row holds
-- the chain tip and serialises appends per organisation (SELECT ... FOR UPDATE).
CREATE TABLE platform_audit_log (
    org_id      uuid        NOT NULL REFERENCES orgs (org_id),
    seq         bigint      NOT NULL CHECK (seq >= 1),
    event_id    uuid        NOT NULL UNIQUE,
    occurred_at timestamptz NOT NULL,
    action      text        NOT NULL CHECK (action ~ '^[a-z][a-z_]*:[a-z][a-z_]*:[a-z][a-z_]*$'),
    actor_type  text        NOT NULL,
    actor_id    text        NOT NULL,
    actor_label text        NOT NULL,
    actor_ip    text        NOT NULL,
    target_type text        NOT NULL,
    target_id   text        NOT NULL,
    details     jsonb       NOT NULL,
    prev_hash   text        NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
    entry_hash  text        NOT NULL CHECK (entry_hash ~ '^[0-9a-f]{64}$'),
    PRIMARY KEY (org_id, seq)
);

CREATE INDEX platform_audit_log_action ON platform_audit_log (org_id, action, seq);
CREATE INDEX platform_audit_log_time ON platform_audit_log (org_id, occurred_at);

CREATE TABLE platform_audit_heads (
    org_id     uuid   PRIMARY KEY REFERENCES orgs (org_id),
    seq        bigint NOT NULL,
    entry_hash text   NOT NULL
);

CREATE FUNCTION platform_audit_log_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the platform audit log is append-only: % is not allowed', TG_OP;
END
$$;

CREATE TRIGGER platform_audit_log_append_only BEFORE UPDATE OR DELETE ON platform_audit_log
    FOR EACH ROW EXECUTE FUNCTION platform_audit_log_immutable();

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

GRANT SELECT, INSERT ON platform_audit_log TO faramesh_app;
GRANT SELECT, INSERT, UPDATE ON platform_audit_heads TO faramesh_app;

ALTER TABLE platform_audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE platform_audit_heads ENABLE ROW LEVEL SECURITY;

CREATE POLICY platform_audit_log_tenant ON platform_audit_log TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
CREATE POLICY platform_audit_heads_tenant ON platform_audit_heads TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
