"""The pin history the pure processor reads (``TrustView``), from the index's own table.

The processor runs in a worker thread and does no I/O, so it gets this snapshot: ``get`` is
a dictionary lookup and a binary search over an immutable ``PinHistory`` that is replaced
wholesale. The history comes from ``audit_signing_key_pins`` (written only by the index's
consumer of ``stacks.signing_keys.v1``, ``pins.py``), never from the stacks component's
tables. ``generation`` names the history's version (``audit_pin_generation``): the DPR sink
compares it with the one each record was verified under and re-checks the records a change
overtook (``sink.py``), and the pin consumer replaces the snapshot in the transaction of the
change, so the order of a pin and a batch never changes a verdict. ``run`` reloads it every
``every_s`` seconds too, for changes another index process applied.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from typing import Any

import msgspec
from psycopg import AsyncConnection
from psycopg import errors as pg_errors

from faramesh_cloud.audit_index.domain import IndexedRecord
from faramesh_cloud.audit_index.pin_history import (
    LATEST,
    UNVERIFIED,
    PinChange,
    PinHistory,
    TrustView,
    trust_status,
)
from faramesh_cloud.sql.database import Database

_log = logging.getLogger(__name__)
Conn = AsyncConnection[Any]
__all__ = ["LATEST", "UNVERIFIED", "TrustSnapshot", "TrustView", "load", "under_current_pins"]


async def under_current_pins(conn: Conn, trust: TrustSnapshot, fresh: list[IndexedRecord],
                             generation: int) -> tuple[list[IndexedRecord], int]:
    """(the records, each signature judged under the pins of ``generation``, the committed
    history the caller holds FOR SHARE; how many were judged again). A record the processor
    checked under an older history, of a stack that has pins, is judged again (a pin change
    overtook it between the processor and the sink)."""
    if trust.generation != generation:
        trust.replace(*await load(conn))
    history = trust.history
    out: list[IndexedRecord] = []
    rejudged = 0
    for rec in fresh:
        if rec.trust_generation != generation and history.knows(rec.org_id, rec.stack_id):
            status = trust_status(rec.signature_status, rec.meta.signer_public_key,
                                  history.at(rec.org_id, rec.stack_id, rec.received_ns))
            if status is not rec.signature_status:
                rejudged += 1
                rec = msgspec.structs.replace(rec, signature_status=status)
        out.append(rec)
    return out, rejudged


async def load(conn: Conn) -> tuple[int, PinHistory]:
    """(generation, history) as ``conn``'s transaction sees them."""
    row = await (await conn.execute("SELECT generation FROM audit_pin_generation")).fetchone()
    rows = await (await conn.execute(
        "SELECT org_id, stack_id, key_id, public_key, pinned, effective_ns FROM audit_signing_key_pins "
        "ORDER BY effective_ns, ordinal")).fetchall()
    changes = [PinChange(o, s, k, p, bool(pinned), int(ns)) for o, s, k, p, pinned, ns in rows]
    return (int(row[0]) if row else 0), PinHistory(changes)


class TrustSnapshot:
    def __init__(self, db: Database, every_s: float = 5.0) -> None:
        self._db = db
        self.every_s = every_s
        self.generation = UNVERIFIED
        self.history = PinHistory()

    def get(self, org_id: str, stack_id: str, received_ns: int = LATEST) -> Collection[str] | None:
        return self.history.at(org_id, stack_id, received_ns)

    def replace(self, generation: int, history: PinHistory) -> None:
        """Take ``history`` as of ``generation`` (a load that reads an older one than the last is
        harmless: the sink compares each batch's generation with the committed one)."""
        self.generation, self.history = generation, history

    async def refresh(self) -> None:
        try:
            async with self._db.connection() as conn:
                generation, history = await load(conn)
        except pg_errors.UndefinedTable:
            return  # the index's migrations have not run in this database: no pins
        self.replace(generation, history)

    async def run(self, stopping: asyncio.Event) -> None:
        """Reload until ``stopping`` is set (the first load happens before the consumers start)."""
        while not stopping.is_set():
            try:
                await asyncio.wait_for(stopping.wait(), self.every_s)
                return
            except TimeoutError:
                pass
            try:
                await self.refresh()
            except Exception:  # keep the last snapshot; retry next tick
                _log.exception("reloading the pinned signing keys failed; keeping the previous snapshot")
