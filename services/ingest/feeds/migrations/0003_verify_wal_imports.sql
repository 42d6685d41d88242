-- What lets a re-import check that what it skips is what was imported (issue 12 §4).
--
-- A daemon that meets a corrupt frame truncates its WAL there when it next opens it and
-- writes on from that point; compaction rewrites the file. Either way the first record (the
-- file's identity) may stay the same while the bytes after imported_through are new. So the
-- ledger also keeps how many bytes the imported entries cover (verified_end) and the SHA-256
-- of exactly those bytes: a re-import skips by position only when the file still starts with
-- them; otherwise it checks every entry against wal_import_records.
ALTER TABLE wal_imports
    ADD COLUMN verified_end  bigint NOT NULL DEFAULT 0 CHECK (verified_end >= 0),
    ADD COLUMN prefix_sha256 text   NOT NULL DEFAULT ''
        CHECK (prefix_sha256 = '' OR prefix_sha256 ~ '^[0-9a-f]{64}$');
-- ('' = an entry written before this migration: its next import checks by identity.)

-- Every entry an import put on the log (or parked) for a stack, from any file: a DPR by
-- (record_id, record_hash), an entry that is not a DPR by ('', 'sha256:<hex of its bytes>').
-- An import never appends an entry whose identity is here for its stack. After compaction
-- the same record_id comes back re-chained with another record_hash: a different record
-- version, so it is imported (the audit index reports the re-genesis).
CREATE TABLE wal_import_records (
    org_id       uuid NOT NULL,
    stack_id     uuid NOT NULL,
    record_id    text NOT NULL CHECK (length(record_id) <= 1000),
    record_hash  text NOT NULL CHECK (length(record_hash) BETWEEN 1 AND 200),
    PRIMARY KEY (org_id, stack_id, record_id, record_hash),
    FOREIGN KEY (org_id, stack_id) REFERENCES stacks (org_id, stack_id)
);

-- Damage an import met before the end of a WAL (a corrupt frame, not a torn tail): once per
-- (file, offset), with how often it was met since.
CREATE TABLE wal_import_problems (
    org_id           uuid        NOT NULL,
    stack_id         uuid        NOT NULL,
    source_identity  text        NOT NULL CHECK (length(source_identity) BETWEEN 1 AND 200),
    byte_offset      bigint      NOT NULL CHECK (byte_offset >= 0),
    kind             text        NOT NULL CHECK (kind IN ('corrupt')),
    reason           text        NOT NULL,
    unread_bytes     bigint      NOT NULL CHECK (unread_bytes >= 0),
    last_file        text        NOT NULL DEFAULT '',
    times_met        bigint      NOT NULL DEFAULT 1 CHECK (times_met >= 1),
    first_met_at     timestamptz NOT NULL DEFAULT now(),
    last_met_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, stack_id, source_identity, byte_offset),
    FOREIGN KEY (org_id, stack_id) REFERENCES stacks (org_id, stack_id)
);
