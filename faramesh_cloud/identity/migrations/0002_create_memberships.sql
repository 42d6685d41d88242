-- Who belongs to which organisation, with which of the five roles of the spec.
CREATE TABLE memberships (
    org_id     uuid        NOT NULL REFERENCES orgs (org_id),
    user_id    uuid        NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    role       text        NOT NULL CHECK (role IN ('owner', 'admin', 'operator', 'auditor', 'viewer')),
    source     text        NOT NULL DEFAULT 'local' CHECK (source IN ('local', 'invitation', 'sso')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, user_id)
);

CREATE INDEX memberships_user ON memberships (user_id);

-- Per-stack role overrides: on this stack the member acts with this role instead of the
-- organisation role (stack-scoped permissions only; organisation settings never change).
CREATE TABLE stack_role_overrides (
    org_id     uuid        NOT NULL,
    user_id    uuid        NOT NULL,
    stack_id   uuid        NOT NULL,
    role       text        NOT NULL CHECK (role IN ('admin', 'operator', 'auditor', 'viewer', 'none')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, user_id, stack_id),
    FOREIGN KEY (org_id, user_id) REFERENCES memberships (org_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, stack_id) REFERENCES stacks (org_id, stack_id)
);
