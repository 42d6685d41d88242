"""The read side both APIs share: the store's rows, blob bytes, and batched download counts."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import Final

from faramesh_cloud.blobstore import BlobStore
from faramesh_cloud.registry.domain import Kind
from faramesh_cloud.registry.store import RegistryStore

MAX_TEXT_BLOB: Final = 16 * 1024 * 1024  # FPL bodies, YAML sidecars and READMEs are read whole (JSON answers)
CACHED_TEXT_BLOB: Final = 256 * 1024  # texts up to this size are kept in memory once read ...
TEXT_CACHE_BYTES: Final = 16 * 1024 * 1024  # ... up to this many bytes in all (least recently used out)
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
    """Blob bytes for answers.

    Texts (FPL bodies, sidecars, READMEs) are kept in memory once read, keyed by their SHA-256:
    a blob's name is its content's digest, so a kept text can never be stale (which blob a
    version names is read from PostgreSQL on every request; a yank or a new version is seen at
    once). Only a text whose bytes hash to its name is kept, so a blob changed on disk is read
    again every time, as before. Without it every pack request read its body through four
    worker-thread hops (stat, open, read, EOF): bench/RESULTS.md, "Registry"."""

    def __init__(self, blobs: BlobStore, cache_bytes: int = TEXT_CACHE_BYTES) -> None:
        self.store = blobs
        self._cache: OrderedDict[str, tuple[str, int]] = OrderedDict()
        self._cache_bytes = cache_bytes
        self._cached = 0

    async def text(self, sha256: str | None) -> str | None:
        if sha256 is None:
            return None
        if (kept := self._cache.get(sha256)) is not None:
            self._cache.move_to_end(sha256)
            return kept[0]
        data = await self.store.read_bytes(sha256, max_size=MAX_TEXT_BLOB)
        text = data.decode("utf-8")
        if len(data) <= min(CACHED_TEXT_BLOB, self._cache_bytes) and hashlib.sha256(data).hexdigest() == sha256:
            self._keep(sha256, text, len(data))
        return text

    def _keep(self, sha256: str, text: str, size: int) -> None:
        if sha256 in self._cache:
            return
        self._cache[sha256] = (text, size)
        self._cached += size
        while self._cached > self._cache_bytes:
            _, (_, dropped) = self._cache.popitem(last=False)
            self._cached -= dropped
