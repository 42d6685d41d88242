-- Pruning old delivery rows (delivery_retention_days): how far each organisation's history was
-- pruned. A NotificationQueued older than pruned_before is not applied again (a consumer that
-- re-reads old events of the service's own topic must not bring pruned rows back); the
-- DeliveriesPruned event that set it is on the log, so an empty-database rebuild prunes again.
CREATE TABLE notification_prunes (
    org_id        uuid        PRIMARY KEY,
    pruned_before timestamptz NOT NULL,
    pruned_at     timestamptz NOT NULL,
    rows_pruned   bigint      NOT NULL DEFAULT 0
);

CREATE INDEX notification_deliveries_age ON notification_deliveries (org_id, created_at) WHERE state <> 'pending';

-- The command handlers (tenant transactions as faramesh_app) read it when they queue (a test send).
GRANT SELECT ON notification_prunes TO faramesh_app;
ALTER TABLE notification_prunes ENABLE ROW LEVEL SECURITY;
CREATE POLICY notification_prunes_tenant ON notification_prunes TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
