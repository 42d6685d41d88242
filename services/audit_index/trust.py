"""The pinned-signing-key snapshot the pure processor reads (``TrustedKeys``).

The processor runs in a worker thread and does no I/O, so it gets ``snapshot.get``: a dict
lookup over an immutable mapping that the service replaces wholesale. ``refresh`` loads every
stack's unrevoked pins in one query (``SigningKeyStore.load_all``); ``run`` repeats it every
``every_s`` seconds (5 s by default), so a pin or revocation takes effect within that long for
records indexed afterwards. Stacks with no pins are absent and read as ``None`` (checked as
before: a valid signature stays valid).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Mapping

from psycopg import errors as pg_errors

from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.signing_keys import SigningKeyStore

_log = logging.getLogger(__name__)


class TrustSnapshot:
    def __init__(self, db: Database, every_s: float = 5.0) -> None:
        self._store = SigningKeyStore(db)
        self.every_s = every_s
        self._pins: Mapping[tuple[str, str], frozenset[str]] = {}

    def get(self, org_id: str, stack_id: str) -> Collection[str] | None:
        return self._pins.get((org_id, stack_id))

    async def refresh(self) -> None:
        try:
            self._pins = await self._store.load_all()
        except pg_errors.UndefinedTable:
            self._pins = {}  # the stacks migrations have not run in this database: no pins

    async def run(self, stopping: asyncio.Event) -> None:
        """Refresh until ``stopping`` is set (the first refresh happens before the consumers
        start)."""
        while not stopping.is_set():
            try:
                await asyncio.wait_for(stopping.wait(), self.every_s)
                return
            except TimeoutError:
                pass
            try:
                await self.refresh()
            except Exception:  # keep the last snapshot; retry next tick
                _log.exception("refreshing pinned signing keys failed; keeping the previous snapshot")
