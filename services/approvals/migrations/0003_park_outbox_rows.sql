-- A row of approvals_outbox the log refuses for good (RecordRejected: larger than the log takes) is
-- parked, not retried for ever ahead of every later event: parked_at and parked_reason set,
-- the relay passes it by and the service's status counts it. DDL of
-- faramesh_cloud.outbox.store.outbox_parking_sql('approvals_outbox').
ALTER TABLE approvals_outbox ADD COLUMN parked_at timestamptz, ADD COLUMN parked_reason text;
CREATE INDEX approvals_outbox_parked ON approvals_outbox (id) WHERE parked_at IS NOT NULL;
