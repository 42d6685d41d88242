-- The service's own events (proto faramesh_cloud_api.notifications.v1, topic
-- notifications.events.v1): routing changes and what was routed, queued, delivered or failed.
--
-- * notification_outbox (the queue of messages to Slack, PagerDuty, email and webhooks) is
--   renamed notification_deliveries, so it cannot be mistaken for notifications_outbox, the
--   service's transactional outbox of events (faramesh_cloud/outbox: rows deleted once
--   relayed to the log). A read-only view keeps the old name for alerts.py's one query
--   until it asks store.told_destinations instead; drop it then.
-- * notification_applied_events: the configuration events applied to this database (by a
--   command handler or by the consumer of the topic), so the consumer, which sees events
--   after the command handler applied them, never applies an older change over a newer one.
--   Deliveries need no such table: their events only ever move a row forward.
-- * notification_catch_up: set while a started service is behind on its own topic (after a
--   rebuild from the log): commands are refused and nothing is sent until it caught up.
ALTER TABLE notification_outbox RENAME TO notification_deliveries;
ALTER INDEX notification_outbox_due RENAME TO notification_deliveries_due;
ALTER INDEX notification_outbox_recent RENAME TO notification_deliveries_recent;
ALTER POLICY notification_outbox_tenant ON notification_deliveries RENAME TO notification_deliveries_tenant;
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT conname FROM pg_constraint
             WHERE conrelid = 'notification_deliveries'::regclass AND conname LIKE 'notification_outbox%' LOOP
        EXECUTE format('ALTER TABLE notification_deliveries RENAME CONSTRAINT %I TO %I', c.conname,
                       left(replace(c.conname, 'notification_outbox', 'notification_deliveries'), 63));
    END LOOP;
END
$$;
CREATE VIEW notification_outbox AS SELECT * FROM notification_deliveries;

CREATE TABLE notifications_outbox (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic       text        NOT NULL,
    key         bytea       NOT NULL,
    value       bytea       NOT NULL,
    headers     bytea,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE notification_applied_events (
    event_id   uuid        PRIMARY KEY,
    org_id     uuid        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE notification_catch_up (
    only_row    boolean     PRIMARY KEY DEFAULT true CHECK (only_row),
    catching_up boolean     NOT NULL,
    since       timestamptz NOT NULL DEFAULT now()
);

GRANT INSERT ON notifications_outbox TO faramesh_app;
GRANT SELECT, INSERT ON notification_applied_events TO faramesh_app;
GRANT SELECT ON notification_catch_up TO faramesh_app;
ALTER TABLE notification_applied_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY notification_applied_events_tenant ON notification_applied_events TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
