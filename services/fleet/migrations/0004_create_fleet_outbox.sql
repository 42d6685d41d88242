-- The fleet's transactional outbox (faramesh_cloud/outbox): the git integrations' events on
-- fleet.events.v1, each added in the transaction of the change it records (git connections,
-- stack mappings, drift checks) and relayed in order by the fleet service.
CREATE TABLE fleet_outbox (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic       text        NOT NULL,
    key         bytea       NOT NULL,
    value       bytea       NOT NULL,
    headers     bytea,
    created_at  timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE fleet_outbox ADD COLUMN parked_at timestamptz, ADD COLUMN parked_reason text;
CREATE INDEX fleet_outbox_parked ON fleet_outbox (id) WHERE parked_at IS NOT NULL;

-- The git changes run in tenant transactions (role faramesh_app): they add to the outbox.
GRANT INSERT ON fleet_outbox TO faramesh_app;
