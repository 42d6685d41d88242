"""The live views' shared feed: one reader of the audit index per organisation in this gateway
process, fanned out in memory to every open viewer of that organisation (Audit → Live stream,
Home's activity stream, ``/api/v1/orgs/{org}/audit/stream``).

The index's sinks ``NOTIFY`` an organisation's id when a batch that moved its tail commits
(``audit_index.postgres.TAIL_CHANNEL``); the composition root LISTENs and hands the wake-ups in
as :class:`Commits`. On a wake-up the organisation's :class:`_Feed` reads what was committed
after its own cursor (``AuditReader.recent``: what search shows, DPRs and unverified summaries),
once, whatever the number of viewers; commits that come close together share one read
(``min_gap_s``), and a slow re-check (``recheck_s``) covers a lost notification. Each row's
server-sent event is encoded once and handed to the viewers whose :class:`Selector` keeps it
(viewers are indexed by their most selective filter, so a row is compared with the viewers
that can want it, not with all of them). The feed runs while its organisation has viewers.

Per viewer:
* every row after its cursor that its selector keeps, once, in tail order (``org_seq``); each
  event's id is the cursor of its row, so ``Last-Event-ID`` resumes exactly after it;
* connecting (the last ``backlog`` positions) or resuming within the feed's ring (its newest
  ``ring`` rows) costs no query; resuming further back costs one catch-up read of at most
  ``catch_up_pages`` pages, while the feed queues what arrives meanwhile (rows both bring are
  told apart by position);
* at most ``queue`` events wait for it: a viewer that does not keep up (its socket full) is
  dropped from the feed at once and told it fell behind (:attr:`Viewer.behind`); the feed never
  waits for a viewer.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import orjson

from faramesh_cloud.gateway.web.audit_ports import AuditReader
from faramesh_cloud.log.wakeup import wait_any

BATCH: Final = 1_000  # rows per read (the index's page limit)
INITIAL: Final = 200  # positions a starting feed reads back (at least the largest backlog)

# Record attributes a selector compares, most selective first: a viewer is indexed by the
# first one it sets (or, failing that, by each stack of its stack list).
_INDEXED: Final = ("session_id", "agent_id", "matched_rule_id", "tool_id", "stack_id", "action_type", "effect",
                   "verification")

_log = logging.getLogger(__name__)


class Commits(Protocol):
    """Commit wake-ups by organisation (``faramesh_cloud.log.wakeup.Signals`` of a LISTEN):
    ``event(org_id)`` is set by the next commit of that organisation after it was taken."""

    def event(self, key: Hashable) -> asyncio.Event: ...


def _everything(stack_id: str) -> bool:
    return True


@dataclass(frozen=True)
class Selector:
    """What one viewer is shown: rows whose attributes equal ``equals`` (attribute names of a
    record summary), of the ``stacks`` listed (None: any), on which ``allows`` (the member's
    per-stack permission) is true."""

    equals: tuple[tuple[str, str], ...] = ()
    stacks: frozenset[str] | None = None
    allows: Callable[[str], bool] = field(default=_everything, compare=False)

    def __post_init__(self) -> None:
        unknown = {attr for attr, _ in self.equals} - set(_INDEXED)
        if unknown:
            raise ValueError(f"a live view cannot filter on {sorted(unknown)}")

    def buckets(self) -> list[tuple[str, str]] | None:
        """The (attribute, value) keys every row it keeps has one of; None: any row may do."""
        given = dict(self.equals)
        for attr in _INDEXED:
            if attr in given:
                return [(attr, given[attr])]
        if self.stacks is not None:
            return [("stack_id", stack) for stack in self.stacks]
        return None


@dataclass(frozen=True)
class LiveConfig:
    ring: int = 10_000  # newest rows an organisation's feed keeps for viewers that connect or resume
    queue: int = 4_000  # events that may wait for one viewer before it is told it fell behind
    catch_up_pages: int = 10  # pages of BATCH a resuming viewer may be behind the ring
    min_gap_s: float = 0.5  # commits closer together than this share one read (the old poll was 1 s)
    recheck_s: float | None = None  # read without a wake-up this often (None: 5 s with commits, else 1 s)
    retry_s: float = 2.0  # after a failed read


class Row:
    """One row the feed read: its tail position, the record summary, and its server-sent
    event, encoded the first time a viewer keeps it (most rows of a busy organisation may be
    kept by no one)."""

    __slots__ = ("_event", "_reader", "seq", "summary")

    def __init__(self, seq: int, summary: Any, reader: AuditReader) -> None:
        self.seq, self.summary, self._event, self._reader = seq, summary, b"", reader

    @property
    def event(self) -> bytes:
        if not self._event:
            self._event = event_of(self._reader.tail_cursor(self.seq), self.summary)
        return self._event


def event_of(cursor: str, row: Any) -> bytes:
    """A row's ``dpr`` event: the record summary as compact JSON (orjson, 4x cheaper than
    ``json.dumps``; the one encoding per row is the feed's largest cost at a busy tail)."""
    return b"id: " + cursor.encode() + b"\nevent: dpr\ndata: " + orjson.dumps(row) + b"\n\n"


class Viewer:
    """One open stream: its selector, the events waiting for it, where it stands."""

    def __init__(self, feed: _Feed, selector: Selector, start: int, start_cursor: str) -> None:
        self.feed = feed
        self.selector = selector
        self.events: list[tuple[int, bytes]] = []
        self.floor = start  # rows at or below this position are not sent (before its start, or sent)
        self.floor_cursor = start_cursor
        self.sent = start  # the position its last written id names
        self.live = False  # caught up: it stands where the feed stands
        self.behind = False
        self.closed = False
        self.wake = asyncio.Event()
        self._allowed: dict[str, bool] = {}

    def keeps(self, row: Any) -> bool:
        for attr, value in self.selector.equals:
            if getattr(row, attr) != value:
                return False
        stack = row.stack_id
        if self.selector.stacks is not None and stack not in self.selector.stacks:
            return False
        allowed = self._allowed.get(stack)
        if allowed is None:
            allowed = self._allowed[stack] = self.selector.allows(stack)
        return allowed

    def push(self, seq: int, event: bytes, limit: int) -> None:
        if self.behind:
            return
        self.events.append((seq, event))
        if len(self.events) > limit:
            self.behind = True
            self.events.clear()

    def position(self) -> tuple[int, str]:
        """The tail position (and its cursor) up to which it has been sent all it keeps."""
        if self.live and self.feed.seq > self.floor:
            return self.feed.seq, self.feed.cursor
        return self.floor, self.floor_cursor

    def take(self, *, idle: bool = False) -> bytes:
        """What to write now: the waiting events, then (when the stream stands further than
        their last id, or ``idle``) an id line with its position, so a reconnect resumes there.
        Nothing once it fell behind (what it lost must not be skipped by a later id)."""
        self.wake.clear()
        if self.behind:
            return b""
        parts = [event for _, event in self.events]
        if self.events:
            self.sent = self.events[-1][0]
        self.events.clear()
        seq, cursor = self.position()
        if seq > self.sent or (idle and not parts):
            parts.append(b"id: " + cursor.encode() + b"\n: live\n\n")
            self.sent = seq
        return b"".join(parts)

    def sent_cursor(self) -> str:
        """The cursor of the last id written (where a reconnect resumes)."""
        return self.floor_cursor if self.sent == self.floor else self.feed.hub.reader.tail_cursor(self.sent)

    async def wait(self, timeout_s: float) -> bool:
        """Until there is something to take (True) or ``timeout_s`` passed (False). A plain
        timeout around the one event: no task per wait (``wait_any`` makes one), as a stream
        waits after every batch it is handed."""
        if self.wake.is_set():
            return True
        try:
            async with asyncio.timeout(timeout_s):
                await self.wake.wait()
        except TimeoutError:
            return False
        return True


class _Feed:
    """One organisation's reader: its cursor, its ring of newest rows, its viewers."""

    def __init__(self, hub: LiveHub, org_id: str) -> None:
        self.hub = hub
        self.org_id = org_id
        self.seq = -1
        self.cursor = hub.reader.tail_cursor(-1)
        self.ring: deque[Row] = deque()
        self.ring_floor = -1  # every row above this position up to ``seq`` is in the ring
        self.viewers: set[Viewer] = set()
        self._buckets: dict[str, dict[str, set[Viewer]]] = {}
        self._scan: set[Viewer] = set()
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    # viewers -------------------------------------------------------------------------------
    def index(self, viewer: Viewer) -> None:
        """From now on ``viewer`` is handed every row it keeps (it is one of ``viewers``)."""
        keys = viewer.selector.buckets()
        if keys is None:
            self._scan.add(viewer)
        for attr, value in keys or ():
            self._buckets.setdefault(attr, {}).setdefault(value, set()).add(viewer)

    def remove(self, viewer: Viewer) -> None:
        self.viewers.discard(viewer)
        self._scan.discard(viewer)
        for attr, value in viewer.selector.buckets() or ():
            values = self._buckets.get(attr, {})
            found = values.get(value)
            if found is not None:
                found.discard(viewer)
                if not found:
                    del values[value]
            if not values:
                self._buckets.pop(attr, None)

    def _candidates(self, row: Any) -> Iterator[Viewer]:
        for attr, values in self._buckets.items():
            found = values.get(getattr(row, attr))
            if found:
                yield from found
        yield from self._scan

    def ring_after(self, start: int, viewer: Viewer) -> list[tuple[int, bytes]]:
        found = []
        for row in reversed(self.ring):
            if row.seq <= start:
                break
            if viewer.keeps(row.summary):
                found.append((row.seq, row.event))
        found.reverse()
        return found

    # reading -------------------------------------------------------------------------------
    def rows(self, page: Any) -> list[Row]:
        reader = self.hub.reader
        return [Row(int(summary.org_seq), summary, reader) for summary in page.records]

    async def read_new(self) -> None:
        """Everything committed after the feed's cursor, page by page, handed out."""
        reader = self.hub.reader
        while True:
            page = await reader.recent(self.org_id, BATCH, self.cursor)
            self.hub.reads += 1
            rows = self.rows(page)
            self.cursor, self.seq = page.cursor, reader.tail_seq(page.cursor)
            self._publish(rows)
            if len(page.records) < BATCH:
                return

    async def start(self) -> None:
        """Stand ``INITIAL`` positions behind the tail and read up to it (the backlog every
        connecting viewer is served from)."""
        reader = self.hub.reader
        head = await reader.recent(self.org_id, 1, None)
        self.hub.reads += 1
        start = max(reader.tail_seq(head.cursor) - INITIAL, -1)
        self.seq, self.cursor, self.ring_floor = start, reader.tail_cursor(start), start
        await self.read_new()
        self.ready.set()

    def _publish(self, rows: list[Row]) -> None:
        ring, limit = self.ring, self.hub.config.ring
        ring.extend(rows)
        while len(ring) > limit:
            self.ring_floor = ring.popleft().seq
        touched: set[Viewer] = set()
        queue = self.hub.config.queue
        for row in rows:
            seq, summary = row.seq, row.summary
            for viewer in self._candidates(summary):
                if seq > viewer.floor and viewer.keeps(summary):
                    viewer.push(seq, row.event, queue)
                    touched.add(viewer)
        for viewer in touched:
            if viewer.behind:
                self.remove(viewer)
            viewer.wake.set()

    async def run(self) -> None:
        hub = self.hub
        loop = asyncio.get_running_loop()
        woken = hub.wakeup(self.org_id)  # taken before reading: no commit in between is missed
        while True:
            began = loop.time()
            try:
                await (self.read_new() if self.ready.is_set() else self.start())
                wait_s = hub.recheck_s
            except Exception:  # the index or its database is away: viewers keep waiting
                _log.warning("live feed of %s: read failed; retrying", self.org_id, exc_info=True)
                wait_s = hub.config.retry_s
            await wait_any([woken], wait_s)
            woken = hub.wakeup(self.org_id)
            await asyncio.sleep(max(0.0, began + hub.config.min_gap_s - loop.time()))


class LiveHub:
    """Every organisation's feed in this process (made by the composition root, or by
    ``mount_web`` with no commit wake-ups: then feeds re-read every second, still once per
    organisation)."""

    def __init__(self, reader: AuditReader, commits: Commits | None = None, config: LiveConfig | None = None) -> None:
        self.reader = reader
        self.commits = commits
        self.config = config or LiveConfig()
        self.recheck_s = self.config.recheck_s or (5.0 if commits is not None else 1.0)
        self.reads = 0  # reads the feeds made (recent() calls): for tests and the benchmark
        self._feeds: dict[str, _Feed] = {}
        self._closed = False

    def wakeup(self, org_id: str) -> asyncio.Event:
        return self.commits.event(org_id) if self.commits is not None else asyncio.Event()

    def viewers(self, org_id: str | None = None) -> int:
        feeds = self._feeds.values() if org_id is None else [f for f in self._feeds.values() if f.org_id == org_id]
        return sum(len(feed.viewers) for feed in feeds)

    def position(self, cursor: str) -> int:
        """The tail position of a cursor a viewer brings (``ValueError``: not a live cursor)."""
        return self.reader.tail_seq(cursor)

    async def watch(self, org_id: str, selector: Selector, after: str | None, backlog: int,
                    timeout_s: float) -> Viewer:
        """A viewer of ``org_id`` after the cursor ``after`` (None: the last ``backlog``
        positions), handed every row it keeps from now on; :meth:`leave` when done. It comes
        back closed when the feed is not ready within ``timeout_s`` or the hub closes."""
        start = -1 if after is None else self.position(after)
        feed = self._feeds.get(org_id)
        if feed is None:
            feed = _Feed(self, org_id)
            if not self._closed:
                self._feeds[org_id] = feed
                feed.task = asyncio.create_task(feed.run(), name=f"live-feed-{org_id}")
        viewer = Viewer(feed, selector, start, after or self.reader.tail_cursor(-1))
        if self._closed:
            viewer.closed = True
            return viewer
        feed.viewers.add(viewer)  # a member: the feed runs while it waits
        try:
            if not feed.ready.is_set():
                await wait_any([feed.ready, viewer.wake], timeout_s)
            if not feed.ready.is_set() or viewer.closed:
                viewer.closed = True
                return viewer
            if after is None:
                start = max(feed.seq - backlog, -1)
                viewer.floor, viewer.floor_cursor, viewer.sent = start, self.reader.tail_cursor(start), start
            # No await from here to the end of the ring copy: nothing is read in between.
            feed.index(viewer)
            if start >= feed.ring_floor:  # the ring holds everything after it: no query
                viewer.events = feed.ring_after(start, viewer)
            else:
                await self._catch_up(feed, viewer, start)
            viewer.live = True
        except BaseException:
            self.leave(viewer)
            raise
        return viewer

    async def _catch_up(self, feed: _Feed, viewer: Viewer, start: int) -> None:
        """One read from the viewer's position, page by page up to the tail (at most
        ``catch_up_pages``); then the rows the feed queued meanwhile that it did not bring."""
        cursor, caught = self.reader.tail_cursor(start), []
        for _ in range(self.config.catch_up_pages):
            page = await self.reader.recent(feed.org_id, BATCH, cursor)
            cursor = page.cursor
            caught.extend((row.seq, row.event) for row in feed.rows(page) if viewer.keeps(row.summary))
            if len(page.records) < BATCH:
                break
        else:
            viewer.behind = True  # further behind than catch_up_pages: reload, or search
        last = self.reader.tail_seq(cursor)
        if not viewer.behind:
            viewer.events = [*caught, *((seq, event) for seq, event in viewer.events if seq > last)]
            if last > viewer.floor:
                viewer.floor, viewer.floor_cursor = last, cursor
            if len(viewer.events) > self.config.queue:
                viewer.behind = True
        if viewer.behind:
            viewer.events.clear()
            feed.remove(viewer)

    def leave(self, viewer: Viewer) -> None:
        feed = viewer.feed
        feed.remove(viewer)
        if not feed.viewers and self._feeds.get(feed.org_id) is feed:
            del self._feeds[feed.org_id]
            if feed.task is not None:
                feed.task.cancel()

    def close(self) -> None:
        """End every stream (each sends its end event, with where it stands) and every feed."""
        self._closed = True
        feeds, self._feeds = list(self._feeds.values()), {}
        for feed in feeds:
            if feed.task is not None:
                feed.task.cancel()
            for viewer in feed.viewers:
                viewer.closed = True
                viewer.wake.set()
