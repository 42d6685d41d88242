-- Per (stack, outbound buffer): the highest sequence whose items are durable in the log (or
-- were rejected). Only ever moves forward. org_id on every row for row-level security.
CREATE TABLE sync_buffer_acks (
    org_id         uuid        NOT NULL,
    stack_id       uuid        NOT NULL,
    buffer_id      uuid        NOT NULL,
    acked_through  bigint      NOT NULL CHECK (acked_through >= 0),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, stack_id, buffer_id)
);
