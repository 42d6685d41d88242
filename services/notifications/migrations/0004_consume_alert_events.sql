-- Chain-integrity alerts from the audit index's events (issue 13), no longer from its tables.
--
-- The service consumes audit.alerts.v1 (AlertRaised, AlertAcknowledged, AlertRetracted) as a
-- normal consumer, its position in notification_alert_positions in the same transaction as
-- what it queues. notification_alerts stays its record of each alert it routed, unique by
-- the alert's identity (a rebuilt index raising it again notifies nothing), now with what an
-- acknowledgement's notice says and the destinations it told. What it does is an event too
-- (ChainAlertRouted, ChainAlertClosed on notifications.alerts.v1, through
-- notifications_outbox), which it reads back first after a rebuild from an empty database,
-- so nothing it notified before is notified again.
DROP TABLE notification_alert_cursor;

ALTER TABLE notification_alerts
    ADD COLUMN message         text        NOT NULL DEFAULT '',
    ADD COLUMN raised_at       timestamptz,
    ADD COLUMN destination_ids uuid[];     -- the destinations its notice was queued for
-- The destinations the alerts routed so far were queued for, from their notices.
UPDATE notification_alerts a SET raised_at = a.routed_at, destination_ids = coalesce((
    SELECT array_agg(DISTINCT o.destination_id) FROM notification_outbox o
    WHERE o.org_id = a.org_id AND o.stack_id = a.stack_id AND o.defer_token = 'alert-' || a.alert_id
      AND o.event = 'chain_integrity.alert'), '{}');

-- Acknowledgements (and retractions) of alerts this service has not seen raised yet: on an
-- empty-database replay the events of audit.alerts.v1 and the records that raise an alert
-- again may arrive in any order; the alert is then recorded acknowledged, nothing is queued.
CREATE TABLE notification_alert_closures (
    org_id          text        NOT NULL,
    stack_id        text        NOT NULL,
    agent_id        text        NOT NULL,
    record_id       text        NOT NULL,
    record_hash     text        NOT NULL,
    kind            text        NOT NULL,
    acknowledged_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, stack_id, agent_id, record_id, record_hash, kind)
);

CREATE TABLE notification_alert_positions (
    topic       text    NOT NULL,
    partition   integer NOT NULL,
    next_offset bigint  NOT NULL,
    PRIMARY KEY (topic, partition)
);

CREATE TABLE IF NOT EXISTS notifications_outbox (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic       text        NOT NULL,
    key         bytea       NOT NULL,
    value       bytea       NOT NULL,
    headers     bytea,
    created_at  timestamptz NOT NULL DEFAULT now()
);
