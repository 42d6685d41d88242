-- Invitations to join an organisation. Only SHA-256 of the token is kept; the link with the
-- token is shown once to the inviter. An invitation is used at most once.
CREATE TABLE invitations (
    invitation_id uuid        PRIMARY KEY,
    org_id        uuid        NOT NULL REFERENCES orgs (org_id),
    email         text        NOT NULL CHECK (email = lower(email) AND position('@' IN email) > 1),
    role          text        NOT NULL CHECK (role IN ('owner', 'admin', 'operator', 'auditor', 'viewer')),
    token_sha256  bytea       NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
    invited_by    uuid        REFERENCES users (user_id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    accepted_at   timestamptz,
    accepted_by   uuid        REFERENCES users (user_id) ON DELETE SET NULL,
    revoked_at    timestamptz
);

CREATE INDEX invitations_org ON invitations (org_id, created_at);
