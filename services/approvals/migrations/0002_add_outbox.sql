-- The approvals service's changes as events (issue 13): its transactional outbox, and what
-- the projection needs to rebuild the same rows from the log whatever order the topics
-- arrive in (Cloud's resolution and the daemon's last report kept apart; the visible
-- state, resolved_* and resolution_* columns are computed from both by the projection).

-- Events committed with the change that caused them; the relay appends them to the log
-- (approvals.events.v1, commands.emergency.v1) and deletes them. DDL of
-- faramesh_cloud.outbox.store.outbox_table_sql('approvals_outbox').
CREATE TABLE approvals_outbox (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic       text        NOT NULL,
    key         bytea       NOT NULL,
    value       bytea       NOT NULL,
    headers     bytea,
    created_at  timestamptz NOT NULL DEFAULT now()
);
-- Command handlers run as faramesh_app (tenant transactions) and only ever add events.
GRANT INSERT ON approvals_outbox TO faramesh_app;

-- Ids are uuid5 of (org, stack, defer_token), given by the projection: a rebuild gives the
-- same ids. Rows made before keep the random ids they had. The column keeps its random
-- default for the previous version's consumer while a rolling restart runs both.

ALTER TABLE approvals
    -- false: a row made by a Cloud event (a decision, an expiry) that a replay brought before
    -- the daemon's first snapshot; that snapshot fills in the approval's facts.
    ADD COLUMN snapshot_seen           boolean     NOT NULL DEFAULT true,
    -- Cloud's own resolution: a decision (approved / denied) or the expiry sweep (expired).
    ADD COLUMN cloud_state             text        NOT NULL DEFAULT ''
        CHECK (cloud_state IN ('', 'approved', 'denied', 'expired')),
    ADD COLUMN cloud_resolved_at       timestamptz,
    ADD COLUMN cloud_resolved_by       text        NOT NULL DEFAULT '',
    ADD COLUMN cloud_resolved_by_label text        NOT NULL DEFAULT '',
    ADD COLUMN cloud_reason            text        NOT NULL DEFAULT '',
    -- The daemon's last resolved report (daemon_state holds its state).
    ADD COLUMN daemon_resolved_at      timestamptz,
    ADD COLUMN daemon_resolved_by      text        NOT NULL DEFAULT '',
    ADD COLUMN daemon_reason           text        NOT NULL DEFAULT '',
    ADD COLUMN daemon_source           text        NOT NULL DEFAULT '';

-- Rows from before: split what they show into the two accounts, as far as it is known.
UPDATE approvals SET cloud_state = state, cloud_resolved_at = resolved_at, cloud_resolved_by = resolved_by,
                     cloud_resolved_by_label = resolved_by_label, cloud_reason = resolution_reason
    WHERE decision_id IS NOT NULL AND resolution_source = 'cloud' AND state IN ('approved', 'denied');
UPDATE approvals SET cloud_state = 'expired', cloud_resolved_at = resolved_at, cloud_reason = resolution_reason
    WHERE state = 'expired' AND resolution_source = 'timeout' AND daemon_state = 'pending';
UPDATE approvals SET daemon_resolved_at = resolved_at,
                     daemon_resolved_by = CASE WHEN resolution_source = 'cloud' THEN '' ELSE resolved_by END,
                     daemon_reason = CASE WHEN resolution_source = 'cloud' THEN '' ELSE resolution_reason END,
                     daemon_source = CASE WHEN resolution_source = 'daemon' THEN '' ELSE resolution_source END
    WHERE daemon_state <> 'pending';
