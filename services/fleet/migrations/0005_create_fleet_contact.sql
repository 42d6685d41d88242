-- When Cloud heard from each stack's daemon: per stack and minute (UTC, by the time ingest
-- received the item), how many sync items (status, health, budget, credential reports) arrived.
-- Written by the fleet sink in the transaction that moves fleet_positions, so a redelivery is
-- not counted twice and a replay from offset 0 rebuilds the same counts. Read by the
-- blind-minutes strip (docs/charts.md).
CREATE TABLE fleet_contact (
    org_id    text        NOT NULL,
    stack_id  text        NOT NULL,
    minute    timestamptz NOT NULL,
    items     bigint      NOT NULL,
    PRIMARY KEY (org_id, stack_id, minute)
);
