-- Unverified decision summaries (decisions.legacy.v1: the legacy Horizon feed and daemon
-- webhooks), consumed by the audit index in its own consumer group. One row per
-- (org, stack, record_id), whichever feed and however many retries brought it: the
-- deduplication key. The row that shows in search is the first copy; later copies only
-- count as deliveries. These rows never touch the chain tables: a summary has no hash,
-- link or signature.
CREATE TABLE audit_legacy_decisions (
    org_id          text     NOT NULL,
    stack_id        text     NOT NULL,
    record_id       text     NOT NULL,  -- the daemon's, or no-record-id-<partition>-<offset> when it sent none
    first_source    text     NOT NULL CHECK (first_source IN ('legacy-feed', 'webhook')),
    sources         text[]   NOT NULL,  -- every feed a copy came from, in order of first arrival
    deliveries      integer  NOT NULL CHECK (deliveries >= 1),
    first_position  text     NOT NULL,  -- topic[partition]@offset of the copy that shows
    received_ns     bigint   NOT NULL,  -- when Cloud received that copy
    -- true: the summary has a row in ClickHouse (legacy_decisions). false: a DPR with the
    -- same key was indexed before it arrived, so it never showed.
    in_index        boolean  NOT NULL,
    -- Set when a DPR with the same key is indexed (the DPR's receive time; for a summary
    -- that arrived after its DPR, its own): the verified record wins.
    superseded_ns   bigint,
    PRIMARY KEY (org_id, stack_id, record_id)
);
-- The DPR sink asks, per batch, which of its records replace a summary still showing: only
-- those rows are in this index, so an organisation that never used the legacy feeds costs
-- one empty probe.
CREATE INDEX audit_legacy_decisions_showing ON audit_legacy_decisions (org_id, stack_id, record_id)
    WHERE superseded_ns IS NULL;
-- Explain looks a record id up without its stack.
CREATE INDEX audit_legacy_decisions_by_id ON audit_legacy_decisions (org_id, record_id);
