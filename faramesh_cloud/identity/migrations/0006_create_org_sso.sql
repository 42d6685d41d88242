-- Per-organisation OIDC single sign-on and its attribute mapping (claim value -> role).
-- default_role is given to a just-in-time member whose claims match no mapping; NULL turns
-- such users away.
CREATE TABLE org_sso (
    org_id        uuid        PRIMARY KEY REFERENCES orgs (org_id),
    enabled       boolean     NOT NULL DEFAULT false,
    issuer        text        NOT NULL CHECK (length(issuer) <= 500),
    client_id     text        NOT NULL CHECK (length(client_id) <= 500),
    client_secret text        NOT NULL DEFAULT '' CHECK (length(client_secret) <= 500),
    scopes        text        NOT NULL DEFAULT 'openid email profile',
    role_claim    text        NOT NULL DEFAULT 'groups' CHECK (length(role_claim) BETWEEN 1 AND 100),
    default_role  text        CHECK (default_role IN ('admin', 'operator', 'auditor', 'viewer')),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sso_role_mappings (
    org_id      uuid NOT NULL REFERENCES orgs (org_id),
    claim_value text NOT NULL CHECK (length(claim_value) BETWEEN 1 AND 200),
    role        text NOT NULL CHECK (role IN ('admin', 'operator', 'auditor', 'viewer')),
    PRIMARY KEY (org_id, claim_value)
);
