-- The registry log: every publish, yank, approval and key change, as one hash chain, with
-- signed checkpoints (services/registry/translog*.py, docs/registry-log.md). Global, like
-- the catalog: no organisation column. Appends are serialised by a transaction advisory lock
-- (translog.LOCK_KEY); neither table is ever updated, deleted from or truncated.
CREATE TABLE registry_log (
    seq        bigint      PRIMARY KEY CHECK (seq >= 1),
    logged_at  timestamptz NOT NULL,
    action     text        NOT NULL CHECK (action ~ '^[a-z][a-z_]*$'),
    subject    jsonb       NOT NULL CHECK (jsonb_typeof(subject) = 'object'),
    actor      jsonb       NOT NULL CHECK (jsonb_typeof(actor) = 'object'),
    body       jsonb       NOT NULL CHECK (jsonb_typeof(body) = 'object'),
    prev_hash  bytea       NOT NULL CHECK (octet_length(prev_hash) = 32),
    entry_hash bytea       NOT NULL UNIQUE CHECK (octet_length(entry_hash) = 32)
);

CREATE INDEX registry_log_subject ON registry_log ((subject ->> 'kind'), (subject ->> 'name'), seq);

-- One row per (size, key): a checkpoint is the signed note of translog_format (origin, size,
-- base64 head hash), its signature and the public key that makes it (for the export; a
-- verifier trusts only keys it pins).
CREATE TABLE registry_log_checkpoints (
    size       bigint      NOT NULL CHECK (size >= 0),
    key_id     text        NOT NULL,
    origin     text        NOT NULL,
    head_hash  bytea       NOT NULL CHECK (octet_length(head_hash) = 32),
    signature  bytea       NOT NULL CHECK (octet_length(signature) = 64),
    public_key bytea       NOT NULL CHECK (octet_length(public_key) = 32),
    signed_at  timestamptz NOT NULL,
    PRIMARY KEY (size, key_id)
);

CREATE FUNCTION registry_log_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the registry log is append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME;
END
$$;

CREATE TRIGGER registry_log_append_only BEFORE UPDATE OR DELETE ON registry_log
    FOR EACH ROW EXECUTE FUNCTION registry_log_immutable();
CREATE TRIGGER registry_log_no_truncate BEFORE TRUNCATE ON registry_log
    FOR EACH STATEMENT EXECUTE FUNCTION registry_log_immutable();
CREATE TRIGGER registry_log_checkpoints_append_only BEFORE UPDATE OR DELETE ON registry_log_checkpoints
    FOR EACH ROW EXECUTE FUNCTION registry_log_immutable();
CREATE TRIGGER registry_log_checkpoints_no_truncate BEFORE TRUNCATE ON registry_log_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION registry_log_immutable();
