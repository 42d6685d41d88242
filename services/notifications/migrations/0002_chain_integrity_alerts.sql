-- Chain-integrity alerts as a second kind of notification.
--
-- * A routing rule routes one subject: 'approvals' (every rule so far) or 'chain_integrity'
--   (the audit index's critical alerts); one rule per (org, subject, stack, agent).
-- * notification_alerts: the alerts this service has routed (one row per audit_alerts row, and
--   per alert identity: org, stack, agent, record id and hash, kind),
--   written in the same transaction as the notices they queued, so an alert is queued once;
--   'acknowledged' once the acknowledgement was passed on (PagerDuty resolve, webhook).
-- * notification_alert_cursor: how far this service has read audit_alerts (the audit index
--   writes that table in the batch's own transaction, so it is the outbox of the hand-off).
--   Every alert_id below next_alert_id is routed or was never committed. A gap (an id
--   burnt by a rollback or by ON CONFLICT DO NOTHING, or still in an open transaction) is
--   passed only once every transaction that was running when it was first seen has ended:
--   gap_xmax is pg_snapshot_xmax() at that moment, gap_below the highest id visible then.
ALTER TABLE notification_rules ADD COLUMN subject text NOT NULL DEFAULT 'approvals'
    CHECK (subject IN ('approvals', 'chain_integrity'));
ALTER TABLE notification_rules DROP CONSTRAINT notification_rules_org_id_stack_id_agent_id_key;
ALTER TABLE notification_rules ADD CONSTRAINT notification_rules_scope UNIQUE (org_id, subject, stack_id, agent_id);

CREATE TABLE notification_alerts (
    alert_id        bigint      PRIMARY KEY,        -- audit_alerts.alert_id
    org_id          uuid        NOT NULL REFERENCES orgs (org_id),
    stack_id        text        NOT NULL,
    agent_id        text        NOT NULL,
    kind            text        NOT NULL,
    record_id       text        NOT NULL,
    record_hash     text        NOT NULL,
    rule_id         uuid,                            -- the rule that routed it (NULL: none matched)
    state           text        NOT NULL CHECK (state IN ('open', 'acknowledged')),
    routed_at       timestamptz NOT NULL,
    acknowledged_at timestamptz,
    -- the alert's own identity in the audit index: a rebuild of the index gives the same alert
    -- a new alert_id, and it is not notified again
    UNIQUE (org_id, stack_id, agent_id, record_id, record_hash, kind)
);
CREATE INDEX notification_alerts_open ON notification_alerts (alert_id) WHERE state = 'open';

CREATE TABLE notification_alert_cursor (
    source         text   PRIMARY KEY,             -- 'audit_alerts'
    next_alert_id  bigint NOT NULL,
    gap_xmax       bigint,                          -- an xid8 (pg_snapshot_xmax), as a number
    gap_below      bigint
);

GRANT SELECT ON notification_alerts TO faramesh_app;
ALTER TABLE notification_alerts ENABLE ROW LEVEL SECURITY;
CREATE POLICY notification_alerts_tenant ON notification_alerts TO faramesh_app
    USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid);
