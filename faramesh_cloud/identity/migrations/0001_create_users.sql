-- People. A person is one identity across organisations (they may belong to several), so
-- users carry no org_id: what a user may do in an organisation lives in memberships.
-- Emails are stored lower-cased; password_hash is an argon2id PHC string (NULL for users
-- who only sign in with SSO or have not accepted an invitation yet).
CREATE TABLE users (
    user_id       uuid        PRIMARY KEY,
    email         text        NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 320
                                              AND position('@' IN email) > 1),
    name          text        NOT NULL DEFAULT '' CHECK (length(name) <= 200),
    password_hash text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    disabled_at   timestamptz
);

CREATE UNIQUE INDEX users_email ON users (email);

-- OIDC identities of a user: (issuer, subject) exactly as the identity provider states them.
CREATE TABLE user_oidc_identities (
    issuer     text        NOT NULL,
    subject    text        NOT NULL,
    user_id    uuid        NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (issuer, subject)
);
