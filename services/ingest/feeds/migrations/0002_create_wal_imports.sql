-- WAL import ledger: per (stack, imported file), how far the file has been appended to the
-- log. A file is identified by its format and the record_hash of its first DPR, which does
-- not change as the daemon appends, so a grown WAL resumes after imported_through and a
-- re-import of the same file appends nothing.
CREATE TABLE wal_imports (
    org_id           uuid        NOT NULL,
    stack_id         uuid        NOT NULL,
    source_identity  text        NOT NULL CHECK (length(source_identity) BETWEEN 1 AND 200),
    -- Position (WAL frame byte offset, or JSONL line number) of the last item handled:
    -- every item at or before it is on the log (or parked on the dead-letter topic).
    imported_through bigint      NOT NULL CHECK (imported_through >= 0),
    records          bigint      NOT NULL DEFAULT 0 CHECK (records >= 0),
    control_frames   bigint      NOT NULL DEFAULT 0 CHECK (control_frames >= 0),
    malformed        bigint      NOT NULL DEFAULT 0 CHECK (malformed >= 0),
    last_file        text        NOT NULL DEFAULT '',
    first_import_at  timestamptz NOT NULL DEFAULT now(),
    last_import_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, stack_id, source_identity),
    FOREIGN KEY (org_id, stack_id) REFERENCES stacks (org_id, stack_id)
);
