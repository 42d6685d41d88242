-- Groups of members per organisation (routing rules and escalation steps can notify a group).
-- A member is in a group manually (added by a person) and/or by SSO sync (the IdP groups claim
-- at each SSO sign-in maps to groups through sso_group_mappings). The two are separate rows
-- (source 'manual' / 'sso'): sync sets only the 'sso' rows, so it never removes a membership
-- somebody added by hand.
CREATE TABLE org_groups (
    org_id      uuid        NOT NULL REFERENCES orgs (org_id),
    group_id    uuid        NOT NULL,
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description text        NOT NULL DEFAULT '' CHECK (length(description) <= 500),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, group_id)
);

CREATE UNIQUE INDEX org_groups_name ON org_groups (org_id, lower(name));

CREATE TABLE group_members (
    org_id     uuid        NOT NULL,
    group_id   uuid        NOT NULL,
    user_id    uuid        NOT NULL,
    source     text        NOT NULL CHECK (source IN ('manual', 'sso')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, group_id, user_id, source),
    FOREIGN KEY (org_id, group_id) REFERENCES org_groups (org_id, group_id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, user_id) REFERENCES memberships (org_id, user_id) ON DELETE CASCADE
);

CREATE INDEX group_members_user ON group_members (org_id, user_id);

-- IdP group name (a value of the SSO role claim, 'groups' by default) -> Cloud group.
CREATE TABLE sso_group_mappings (
    org_id      uuid NOT NULL,
    claim_value text NOT NULL CHECK (length(claim_value) BETWEEN 1 AND 200),
    group_id    uuid NOT NULL,
    PRIMARY KEY (org_id, claim_value, group_id),
    FOREIGN KEY (org_id, group_id) REFERENCES org_groups (org_id, group_id) ON DELETE CASCADE
);

GRANT SELECT, INSERT, UPDATE, DELETE ON org_groups, group_members, sso_group_mappings TO faramesh_app;

ALTER TABLE org_groups ENABLE ROW LEVEL SECURITY;
ALTER TABLE group_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE sso_group_mappings ENABLE ROW LEVEL SECURITY;

CREATE POLICY org_groups_tenant ON org_groups TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
CREATE POLICY group_members_tenant ON group_members TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
CREATE POLICY sso_group_mappings_tenant ON sso_group_mappings TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
