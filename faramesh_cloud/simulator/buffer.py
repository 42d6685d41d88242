"""The simulated daemon's outbound sync buffer: SQLite in WAL mode, one file per stack.

What docs/sync-api.md asks of a daemon's buffer, and how this one does it:

* **Durable.** Every enqueue is one transaction committed with ``synchronous=FULL``, so a
  killed or restarted simulator finds every item it had not yet delivered.
* **A stable ``buffer_id``** (UUIDv4) created with the file and stored in it; a new file
  means a new id and a sequence starting at 1 again, never a reused sequence.
* **One sequence space for every item kind**, 1, 2, 3, ... without gaps. The last assigned
  sequence is stored, not derived from the items, so it never goes back when the table
  empties.
* **Items leave only by acknowledgement**: :meth:`SyncBuffer.ack` deletes everything up to
  Cloud's ``acked_through_sequence`` (items Cloud rejected are acknowledged too). No error
  path deletes anything, and there is no size cap that would drop items.

The file also keeps two things that must move together with the items: how far into the
daemon's WAL file the enqueued DPRs reach (``wal_end``, for recovery after a crash between
the WAL write and the enqueue), and the daemon's control state (a JSON document: kill
switches, isolations, pending approvals), written in the same transaction as the items a
state change produced.

SQLite calls block, so they run on one dedicated worker thread per buffer (the connection is
used by that thread only); every public method is a coroutine.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypeVar

from faramesh_cloud_api.sync.v1 import push_pb2
from google.protobuf.message import Message

from faramesh_cloud.rpc.sync_client import push_item

T = TypeVar("T")

_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS items ("
    " sequence INTEGER PRIMARY KEY,"
    " kind TEXT NOT NULL,"
    " enqueued_ns INTEGER NOT NULL,"
    " size INTEGER NOT NULL,"
    " item BLOB NOT NULL)",
)
# Bytes a PushRequest spends on its buffer_id and framing besides the items themselves.
REQUEST_OVERHEAD: Final = 64


class BufferError(RuntimeError):
    """The buffer file cannot be used; the message says what to do."""


@dataclass(frozen=True, slots=True)
class BufferStats:
    """The numbers a daemon reports in ``SyncBufferStats``."""

    buffer_id: str
    queued_items: int
    queued_bytes: int
    oldest_enqueued_ns: int | None
    last_assigned_sequence: int
    acked_through_sequence: int


def _varint_len(value: int) -> int:
    length = 1
    while value >= 0x80:
        value >>= 7
        length += 1
    return length


def wire_size(item_size: int) -> int:
    """Bytes one item of ``item_size`` takes inside a PushRequest (tag, length, body)."""
    return 1 + _varint_len(item_size) + item_size


class SyncBuffer:
    """Open with :meth:`open`; close with :meth:`close`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sim-buffer")
        self._conn: sqlite3.Connection | None = None
        self.buffer_id = ""
        self._last = 0
        self._acked = 0
        self._bytes = 0
        self._empty = asyncio.Event()

    # -- plumbing --------------------------------------------------------------------

    async def _run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise BufferError(f"the sync buffer {self.path} is not open; call open() first")
        return self._conn

    @staticmethod
    def _meta(conn: sqlite3.Connection, key: str) -> str | None:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    @staticmethod
    def _set(conn: sqlite3.Connection, key: str, value: str) -> None:
        conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                     "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    # -- life cycle ------------------------------------------------------------------

    @classmethod
    async def open(cls, path: Path) -> SyncBuffer:
        buffer = cls(path)
        try:
            await buffer._run(buffer._open)
        except BaseException:
            buffer._executor.shutdown(wait=False)
            raise
        buffer._note_empty()
        return buffer

    def _note_empty(self) -> None:
        if self.queued == 0:
            self._empty.set()
        else:
            self._empty.clear()

    async def wait_empty(self) -> None:
        """Return once every item is acknowledged."""
        await self._empty.wait()

    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise BufferError(f"cannot open the sync buffer {self.path} ({exc}); check that the "
                              "simulator's data dir is writable") from exc
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                for statement in _SCHEMA:
                    conn.execute(statement)
                buffer_id = self._meta(conn, "buffer_id")
                if buffer_id is None:
                    buffer_id = str(uuid.uuid4())
                    self._set(conn, "buffer_id", buffer_id)
                    self._set(conn, "last_sequence", "0")
                    self._set(conn, "acked_through", "0")
            self.buffer_id = buffer_id
            self._last = int(self._meta(conn, "last_sequence") or 0)
            self._acked = int(self._meta(conn, "acked_through") or 0)
            self._bytes = int(conn.execute("SELECT COALESCE(SUM(size), 0) FROM items").fetchone()[0])
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise BufferError(f"the sync buffer {self.path} is damaged ({exc}); move it aside to "
                              "start a new buffer (Cloud dedupes what it already has)") from exc
        self._conn = conn

    async def close(self) -> None:
        if self._conn is not None:
            await self._run(self._db().close)
            self._conn = None
        self._executor.shutdown(wait=True)

    # -- items -----------------------------------------------------------------------

    async def enqueue(
        self,
        payloads: Sequence[Message],
        *,
        enqueued_ns: int,
        wal_end: int | None = None,
        state: str | None = None,
    ) -> list[int]:
        """Give each payload the next sequence and store them, together with the new
        ``wal_end`` and control ``state`` when given, in one durable transaction."""
        sequences = await self._run(lambda: self._enqueue(payloads, enqueued_ns, wal_end, state))
        self._note_empty()
        return sequences

    def _enqueue(self, payloads: Sequence[Message], enqueued_ns: int, wal_end: int | None,
                 state: str | None) -> list[int]:
        conn = self._db()
        rows: list[tuple[int, str, int, int, bytes]] = []
        sequence = self._last
        for payload in payloads:
            sequence += 1
            item = push_item(sequence, payload, enqueued_ns).SerializeToString()
            rows.append((sequence, payload.DESCRIPTOR.name, enqueued_ns, len(item), item))
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("INSERT INTO items (sequence, kind, enqueued_ns, size, item) "
                             "VALUES (?, ?, ?, ?, ?)", rows)
            self._set(conn, "last_sequence", str(sequence))
            if wal_end is not None:
                self._set(conn, "wal_end", str(wal_end))
            if state is not None:
                self._set(conn, "state", state)
        self._last = sequence
        self._bytes += sum(r[3] for r in rows)
        return [r[0] for r in rows]

    async def batch(self, max_items: int, max_bytes: int) -> list[push_pb2.PushItem]:
        """The oldest unacknowledged items, at most ``max_items`` of them and at most
        ``max_bytes`` as a PushRequest (always at least one item when any is queued)."""
        return await self._run(lambda: self._batch(max_items, max_bytes))

    def _batch(self, max_items: int, max_bytes: int) -> list[push_pb2.PushItem]:
        rows = self._db().execute("SELECT size, item FROM items ORDER BY sequence LIMIT ?",
                                  (max(1, max_items),)).fetchall()
        items: list[push_pb2.PushItem] = []
        total = REQUEST_OVERHEAD
        for size, blob in rows:
            total += wire_size(int(size))
            if items and total > max_bytes:
                break
            items.append(push_pb2.PushItem.FromString(blob))
        return items

    async def ack(self, through: int) -> int:
        """Drop every item up to ``through`` (Cloud holds or rejected them); returns how
        many were dropped. Never moves the acknowledgement back."""
        dropped = await self._run(lambda: self._ack(through))
        self._note_empty()
        return dropped

    def _ack(self, through: int) -> int:
        if through <= self._acked:
            return 0
        conn = self._db()
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            freed, dropped = conn.execute(
                "SELECT COALESCE(SUM(size), 0), COUNT(*) FROM items WHERE sequence <= ?", (through,)
            ).fetchone()
            conn.execute("DELETE FROM items WHERE sequence <= ?", (through,))
            self._set(conn, "acked_through", str(through))
            if through > self._last:
                # Cloud holds sequences this file never assigned (it was restored from an
                # older copy): continue above them, or new items would pass as already held.
                self._set(conn, "last_sequence", str(through))
        self._acked = through
        self._last = max(self._last, through)
        self._bytes -= int(freed)
        return int(dropped)

    # -- metadata --------------------------------------------------------------------

    @property
    def last_sequence(self) -> int:
        return self._last

    @property
    def acked_through(self) -> int:
        return self._acked

    @property
    def queued(self) -> int:
        """Items waiting: sequences are gapless and only acks remove items."""
        return self._last - min(self._acked, self._last)

    async def stats(self) -> BufferStats:
        def read() -> int | None:
            row = self._db().execute("SELECT enqueued_ns FROM items ORDER BY sequence LIMIT 1").fetchone()
            return None if row is None else int(row[0])

        oldest = await self._run(read)
        return BufferStats(self.buffer_id, self.queued, self._bytes, oldest, self._last, self._acked)

    async def sequences(self) -> list[int]:
        """Sequences still held (for inspection and tests)."""
        rows = await self._run(lambda: self._db().execute("SELECT sequence FROM items ORDER BY sequence").fetchall())
        return [int(r[0]) for r in rows]

    async def wal_end(self) -> int:
        value = await self._run(lambda: self._meta(self._db(), "wal_end"))
        return int(value or 0)

    async def state(self) -> str | None:
        return await self._run(lambda: self._meta(self._db(), "state"))
