-- The applied governance.fms texts daemons sync (AppliedConfig.governance_fms), each
-- stored once per organisation, keyed by the SHA-256 of the text as received. The stack
-- row and each apply-history row point at their text by that key ('' = none synced).
CREATE TABLE fleet_config_texts (
    org_id        text   NOT NULL,
    sha256        text   NOT NULL,
    body          text   NOT NULL,
    first_seen_ns bigint NOT NULL,
    PRIMARY KEY (org_id, sha256)
);

ALTER TABLE fleet_stacks
    ADD COLUMN governance_sha256   text    NOT NULL DEFAULT '',
    ADD COLUMN config_text_sha256  text    NOT NULL DEFAULT '',
    ADD COLUMN config_sha_mismatch boolean NOT NULL DEFAULT false;

ALTER TABLE fleet_applies
    ADD COLUMN text_sha256 text NOT NULL DEFAULT '';
