"""The one way the service's state changes: :func:`apply` of an event (``changes.py``).

The command handlers (``api.py``) and the report jobs (``jobs.py``) build an event and
:func:`record` it: apply it and add it to the transactional outbox, in the caller's
transaction. The consumer of ``compliance.events.v1`` (``projection.ChangeSink``) applies the
same events read back from the log: a no-op in normal operation (each event id is applied
once: ``compliance_applied_events``), the whole state after an empty-database rebuild.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from faramesh_cloud.compliance.changes import (
    ArtifactRecorded,
    Change,
    FrameworksDeclared,
    ReportFailed,
    ReportRequested,
    ShareLinkCreated,
    ShareLinkRevoked,
)
from faramesh_cloud.compliance.events import OUTBOX, TOPIC, encode

Conn = AsyncConnection[Any]


async def record(conn: Conn, change: Change) -> bool:
    """Apply ``change`` and, if it was new, add it to the outbox (same transaction)."""
    applied = await apply(conn, change)
    if applied:
        await OUTBOX.add(conn, TOPIC, [encode(change)])
    return applied


async def apply(conn: Conn, change: Change) -> bool:
    """Apply ``change`` once (by event id); True when it was new here."""
    cur = await conn.execute("INSERT INTO compliance_applied_events (event_id, org_id) VALUES (%s, %s) "
                             "ON CONFLICT DO NOTHING", (change.event_id, change.org_id))
    if cur.rowcount == 0:
        return False
    match change:
        case FrameworksDeclared():
            await conn.execute("DELETE FROM compliance_frameworks WHERE org_id = %s AND NOT framework = ANY(%s)",
                               (change.org_id, list(change.frameworks)))
            await conn.execute(
                "INSERT INTO compliance_frameworks (org_id, framework, declared_at, declared_by) "
                "SELECT %s, f, %s, %s FROM unnest(%s::text[]) AS f ON CONFLICT DO NOTHING",
                (change.org_id, change.occurred_at, change.actor.label, list(change.frameworks)))
            await conn.execute("DELETE FROM compliance_posture WHERE org_id = %s AND NOT framework = ANY(%s)",
                               (change.org_id, list(change.frameworks)))
        case ReportRequested():
            await conn.execute(
                "INSERT INTO compliance_reports (report_id, org_id, framework, stack_ids, range_start, range_end, "
                "requested_at, requested_by, actor_type, actor_id, retry_of) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (change.report_id, change.org_id, change.framework, list(change.stack_ids), change.range_start,
                 change.range_end, change.occurred_at, change.actor.label, change.actor.type.value, change.actor.id,
                 change.retry_of or None))
        case ReportFailed():
            await conn.execute(
                "UPDATE compliance_reports SET state = 'failed', error = %s, finished_at = %s, progress = 0, "
                "stage = 'failed' "
                "WHERE report_id = %s AND org_id = %s AND state <> 'done'",
                (change.error, change.occurred_at, change.report_id, change.org_id))
        case ArtifactRecorded():
            await conn.execute(
                "INSERT INTO compliance_artifacts (artifact_id, org_id, kind, title, parameters, created_at, "
                "created_by, sha256, size, filename, media_type, verification_hash, report_id) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (change.artifact_id, change.org_id, change.kind, change.title, Jsonb(change.parameters),
                 change.occurred_at, change.actor.label, change.sha256, change.size, change.filename,
                 change.media_type, change.verification_hash, change.report_id or None))
            if change.report_id:
                await conn.execute(
                    "UPDATE compliance_reports SET state = 'done', progress = 1, stage = 'done', error = '', "
                    "artifact_id = %s, finished_at = %s WHERE report_id = %s AND org_id = %s",
                    (change.artifact_id, change.occurred_at, change.report_id, change.org_id))
        case ShareLinkCreated():
            await conn.execute(
                "INSERT INTO compliance_share_links (link_id, org_id, artifact_id, token_sha256, created_at, "
                "created_by, expires_at, note) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (change.link_id, change.org_id, change.artifact_id, change.token_sha256, change.occurred_at,
                 change.actor.label, change.expires_at, change.note))
        case ShareLinkRevoked():
            await conn.execute(
                "UPDATE compliance_share_links SET revoked_at = %s, revoked_by = %s "
                "WHERE link_id = %s AND org_id = %s AND revoked_at IS NULL",
                (change.occurred_at, change.actor.label, change.link_id, change.org_id))
    return True
