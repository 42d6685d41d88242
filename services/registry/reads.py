"""The read side both APIs share: the store's rows, blob bytes, and batched download counts."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable
from typing import Final

from faramesh_cloud.blobstore import BlobStore
from faramesh_cloud.registry.domain import Kind
from faramesh_cloud.registry.store import RegistryStore

MAX_TEXT_BLOB: Final = 16 * 1024 * 1024  # FPL bodies, YAML sidecars and READMEs are read whole (JSON answers)
_log = logging.getLogger(__name__)


class DownloadCounter:
    """Fetches counted in memory and written in one statement per flush (not a write per GET):
    every ``interval_s`` by :meth:`run`, and at stop. A flush that fails keeps its counts for
    the next one."""

    def __init__(self, store: RegistryStore, clock: Callable[[], dt.datetime], interval_s: float = 5.0) -> None:
        self._store = store
        self._clock = clock
        self._interval = interval_s
        self._pending: Counter[tuple[str, str, str, dt.date]] = Counter()

    def count(self, kind: Kind, name: str, version: str) -> None:
        self._pending[(kind.value, name, version, self._clock().date())] += 1

    @property
    def pending(self) -> int:
        return sum(self._pending.values())

    async def flush(self) -> None:
        batch, self._pending = self._pending, Counter()
        try:
            await self._store.add_downloads(dict(batch))
        except BaseException:
            self._pending.update(batch)
            raise

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), self._interval)
            try:
                await self.flush()
            except Exception:
                _log.warning("registry: writing download counts failed; retrying", exc_info=True)


class Blobs:
    """Blob bytes for answers."""

    def __init__(self, blobs: BlobStore) -> None:
        self.store = blobs

    async def text(self, sha256: str | None) -> str | None:
        if sha256 is None:
            return None
        return (await self.store.read_bytes(sha256, max_size=MAX_TEXT_BLOB)).decode("utf-8")
