"""What the DPR explorer reads, as a port the composition root fills (the runtime adapts the
audit index's query API to it). Plain values go in; what comes out is read by attribute
(``records``/``next_cursor`` pages, record summaries and details, chain integrity), so the
gateway imports no service. Every method takes ``org_id`` first and reads only that org.
A cursor the index did not issue raises ``ValueError``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from faramesh_cloud.platform_audit.events import Actor


class AuditReader(Protocol):
    async def search(self, org_id: str, filters: Mapping[str, str], start_ns: int | None, end_ns: int | None,
                     cursor: str | None, limit: int) -> Any:
        """A page (``records`` newest first, ``next_cursor``) of records matching every filter
        (keys: stack_id, agent_id, session_id, effect, action_type, tool_id, rule_id)."""
        ...

    async def counts_by_effect(self, org_id: str, filters: Mapping[str, str], start_ns: int | None,
                               end_ns: int | None) -> dict[str, int]: ...

    async def decision_series(self, org_id: str, stack_ids: Sequence[str], start_ns: int, end_ns: int,
                              bucket_ns: int) -> Sequence[Any]:
        """Per stack (``stack_id``, ``decisions``, ``denies``: one count per bucket): the sparklines."""
        ...

    async def decision_stats(self, org_id: str, stacks: Sequence[str], start_ns: int, end_ns: int,
                             bucket_ns: int, top: int = 10) -> Any:
        """Verified DPRs per effect per bucket (``buckets`` of ``start_ns``/``counts``), ``total``,
        ``by_effect``, ``unverified_total``: the decisions-over-time chart's one query."""
        ...

    async def get_record(self, org_id: str, record_id: str) -> Sequence[Any]:
        """Every stored copy of the record id (``summary``, ``raw``, ``prev_record_hash``,
        ``chain_index``, ``findings``, ...); empty when the org has none."""
        ...

    async def neighbours(self, org_id: str, stack_id: str, agent_id: str, record_hash: str,
                         prev_record_hash: str) -> tuple[Any | None, Any | None]:
        """(previous, next) on the agent's chain: ``record_id``, ``record_hash``,
        ``prev_record_hash``, ``raw``."""
        ...

    async def records_with_bytes(self, org_id: str, record_ids: Sequence[str]) -> Sequence[Any]: ...

    async def session_timeline(self, org_id: str, session_id: str, cursor: str | None, limit: int) -> Any: ...

    async def recent(self, org_id: str, limit: int, after: str | None) -> Any:
        """The live tail: ``records`` indexed after the cursor ``after`` (oldest first, each
        with its ``org_seq``), and ``cursor``."""
        ...

    def tail_seq(self, cursor: str) -> int:
        """The tail position a cursor of ``recent`` stands at (a record's ``org_seq``; -1: before
        the first). ``ValueError`` for a cursor ``recent`` did not issue. No I/O."""
        ...

    def tail_cursor(self, seq: int) -> str:
        """The cursor of ``recent`` standing at tail position ``seq``. No I/O."""
        ...

    async def chain_integrity(self, org_id: str, stack_id: str | None = None) -> Sequence[Any]: ...

    async def alerts(self, org_id: str, *, include_acknowledged: bool = False) -> Sequence[Any]:
        """Critical chain-integrity alerts, newest first (``alert_id``, ``stack_id``, ``agent_id``,
        ``kind``, ``record_id``, ``message``, ``acknowledged``, ``acknowledged_by`` / ``_at`` / ``_note``)."""
        ...

    async def alert(self, org_id: str, alert_id: int) -> Any | None:
        """One alert of the organisation (None: it has no such alert)."""
        ...

    async def acknowledge_alert(self, org_id: str, alert_id: int, note: str, actor: Actor) -> Any:
        """Acknowledge with a note (recorded in the platform audit log). ``LookupError``: no such
        alert in the org; ``ValueError`` (``code`` ``conflict`` when acknowledged already): refused."""
        ...
