-- Row-level security: the application acts as the non-owner role faramesh_app
-- (faramesh_cloud.sql.tenant sets it per transaction, with the organisation in app.org_id and
-- the signed-in user in app.user_id). Policies only apply to roles that do not own the table
-- and are not superusers, so the migrations (run as the owner) are unaffected. A query whose
-- transaction carries no app.org_id sees no tenant row at all.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'faramesh_app') THEN
        CREATE ROLE faramesh_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
    -- A non-superuser migration role needs membership to SET ROLE to it.
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE format('GRANT faramesh_app TO %I', current_user);
    END IF;
END
$$;

GRANT SELECT, INSERT, UPDATE ON orgs TO faramesh_app;
GRANT SELECT ON stacks TO faramesh_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON
    users, user_oidc_identities, memberships, stack_role_overrides, invitations, sessions,
    platform_api_keys, org_sso, sso_role_mappings, login_throttle
TO faramesh_app;

-- Tenant tables: one organisation per transaction.
ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE stack_role_overrides ENABLE ROW LEVEL SECURITY;
ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE platform_api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE org_sso ENABLE ROW LEVEL SECURITY;
ALTER TABLE sso_role_mappings ENABLE ROW LEVEL SECURITY;

-- A user also sees their own memberships in other organisations (the org switcher).
CREATE POLICY memberships_tenant ON memberships TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid
           OR user_id = NULLIF(current_setting('app.user_id', true), '')::uuid)
    WITH CHECK (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
CREATE POLICY stack_role_overrides_tenant ON stack_role_overrides TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
CREATE POLICY invitations_tenant ON invitations TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
CREATE POLICY platform_api_keys_tenant ON platform_api_keys TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
CREATE POLICY org_sso_tenant ON org_sso TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
CREATE POLICY sso_role_mappings_tenant ON sso_role_mappings TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);

-- The two look-ups whose whole job is to find out which organisation a secret belongs to.
-- They search by the secret's random id / digest only and return one row; the caller then
-- works inside that organisation.
CREATE FUNCTION identity_find_api_key(p_key_id text)
RETURNS TABLE (org_id uuid, name text, role text, secret_sha256 bytea, expires_at timestamptz,
               revoked_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
    SELECT k.org_id, k.name, k.role, k.secret_sha256, k.expires_at, k.revoked_at
    FROM platform_api_keys k WHERE k.key_id = p_key_id
$$;

CREATE FUNCTION identity_find_invitation(p_token_sha256 bytea)
RETURNS TABLE (invitation_id uuid, org_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
    SELECT i.invitation_id, i.org_id FROM invitations i WHERE i.token_sha256 = p_token_sha256
$$;

REVOKE ALL ON FUNCTION identity_find_api_key(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION identity_find_invitation(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION identity_find_api_key(text) TO faramesh_app;
GRANT EXECUTE ON FUNCTION identity_find_invitation(bytea) TO faramesh_app;
