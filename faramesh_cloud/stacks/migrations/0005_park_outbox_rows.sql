-- A row of stacks_outbox the log refuses for good (RecordRejected: larger than the log takes) is
-- parked, not retried for ever ahead of every later event: parked_at and parked_reason set,
-- the relay passes it by and the service's status counts it. DDL of
-- faramesh_cloud.outbox.store.outbox_parking_sql('stacks_outbox').
ALTER TABLE stacks_outbox ADD COLUMN parked_at timestamptz, ADD COLUMN parked_reason text;
CREATE INDEX stacks_outbox_parked ON stacks_outbox (id) WHERE parked_at IS NOT NULL;
