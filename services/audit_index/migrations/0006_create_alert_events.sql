-- Alerts as events (issue 13). The index writes what happens to its alerts into its own
-- transactional outbox, in the transaction that changes them; the relay appends it to
-- audit.alerts.v1 (AlertRaised, AlertAcknowledged, AlertRetracted), which the
-- notifications service consumes instead of reading audit_alerts, and the index itself
-- consumes to bring acknowledgements back after a rebuild from an empty database.
CREATE TABLE audit_index_outbox (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic       text        NOT NULL,
    key         bytea       NOT NULL,
    value       bytea       NOT NULL,
    headers     bytea,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- How each alert was closed, by its identity (org, stack, agent, record id and hash, kind),
-- as its event said: acknowledged by a person with a note, or retracted by a verifier fix.
-- The first closure of an identity stays. Kept even when the alert is not (yet) in
-- audit_alerts: on an empty-database replay an acknowledgement may arrive before the records
-- raise the alert again, which is then raised closed.
CREATE TABLE audit_alert_closures (
    org_id          text        NOT NULL,
    stack_id        text        NOT NULL,
    agent_id        text        NOT NULL,
    record_id       text        NOT NULL,
    record_hash     text        NOT NULL,
    kind            text        NOT NULL,
    closed_by_type  text        NOT NULL,  -- user, api_key, system
    closed_by       text        NOT NULL,  -- who, as people read it
    closed_at       timestamptz NOT NULL,
    note            text        NOT NULL,
    event_id        uuid        NOT NULL,
    PRIMARY KEY (org_id, stack_id, agent_id, record_id, record_hash, kind)
);

-- A person's acknowledgement runs in a tenant transaction (role faramesh_app): it adds its
-- closure and its event there, with the platform audit entry.
GRANT INSERT ON audit_index_outbox TO faramesh_app;
GRANT SELECT, INSERT ON audit_alert_closures TO faramesh_app;
ALTER TABLE audit_alert_closures ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_alert_closures_tenant ON audit_alert_closures TO faramesh_app
    USING (org_id = current_setting('app.org_id', true))
    WITH CHECK (org_id = current_setting('app.org_id', true));

-- An alert's id is derived from its identity from now on (53 bits of SHA-256, set by the
-- index), so a rebuilt index gives every alert the same id, URL and notification dedup key.
-- Alerts raised before keep the sequential ids they have.
ALTER TABLE audit_alerts ALTER COLUMN alert_id DROP IDENTITY;

-- Alerts raised before this migration have no events on the log yet: the index announces
-- them (AlertRaised, and AlertAcknowledged or AlertRetracted when closed) once, on its next
-- start, so the log holds every alert and a rebuild loses none (announce.py).
ALTER TABLE audit_alerts ADD COLUMN announced boolean NOT NULL DEFAULT true;
UPDATE audit_alerts SET announced = false;
CREATE INDEX audit_alerts_unannounced ON audit_alerts (alert_id) WHERE NOT announced;

-- Their closures, by identity, as the events will say.
INSERT INTO audit_alert_closures (org_id, stack_id, agent_id, record_id, record_hash, kind, closed_by_type,
                                  closed_by, closed_at, note, event_id)
SELECT org_id, stack_id, agent_id, record_id, record_hash, kind,
       CASE WHEN acknowledged_by = 'faramesh-cloud verifier' THEN 'system' ELSE 'user' END,
       coalesce(acknowledged_by, ''), coalesce(acknowledged_at, created_at), coalesce(acknowledged_note, ''),
       gen_random_uuid()
FROM audit_alerts WHERE acknowledged;
