-- Acknowledging a critical chain-integrity alert: a person (Owner, Admin, Operator) says
-- they have looked at it, with a note. The gateway writes it in a tenant transaction (role
-- faramesh_app, app.org_id set) together with the platform audit log entry, so row-level
-- security keeps it to the caller's organisation; the audit index's own writes run as the
-- table owner and are not affected. An acknowledged alert leaves Home's attention panel and
-- stays listed (marked) on the chain-integrity page.
ALTER TABLE audit_alerts ADD COLUMN acknowledged_note text;

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

GRANT SELECT ON audit_alerts TO faramesh_app;
GRANT UPDATE (acknowledged, acknowledged_at, acknowledged_by, acknowledged_note) ON audit_alerts TO faramesh_app;
ALTER TABLE audit_alerts ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_alerts_tenant ON audit_alerts TO faramesh_app
    USING (org_id = current_setting('app.org_id', true));
