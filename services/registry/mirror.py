"""Mirroring an upstream registry into this one (docs/registry-mirror.md).

A run lists what the source has (``mirror_sources``: an HTTP registry URL or a local catalog
checkout) and, for each version, in order:

1. describes it and verifies its signature against the keys the operator **pinned for this
   mirror** (default: the official key) and nothing else; a version that fails (a signature
   that does not verify, an unpinned key, a body whose sha256 does not match) is quarantined;
2. a version already here with the same signed content is ``unchanged`` (nothing fetched or
   stored again); with other content it is quarantined (artifacts are immutable: never an
   overwrite);
3. a new one: its provider binaries are streamed into the BlobStore (sha256 checked against the
   signed manifest), then ``seed.add_version`` stores it with ``source = 'mirror'``, its
   ``VersionPublished`` event and its ``mirrored`` registry-log entry in one transaction (a
   pinned key not listed yet is listed first, origin ``mirror``, with ``KeyAdded`` and its
   log entry).

A quarantine is a row of ``registry_mirror_quarantine`` (never a version row, so neither the
daemon API nor the browse reads can serve it) written with its ``MirrorQuarantined`` event
and ``quarantined`` log entry; meeting it again in a later run only moves ``last_seen``.
Progress goes to ``registry_mirror_runs`` as the run goes (and to ``on_progress``); a fetch
that fails is counted and named there and retried by the next run. After the run, the
caller's ``after_batch`` (the service's signed checkpoint) runs.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from google.protobuf.struct_pb2 import Struct
from psycopg.types.json import Jsonb

from faramesh_cloud.blobstore import BlobStore
from faramesh_cloud.events.records import event_record
from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.registry import translog
from faramesh_cloud.registry.events import OUTBOX, TOPIC, KeyAdded, encode, new_event_id
from faramesh_cloud.registry.log_entries import actor_json, log_key_added, manifest_digest
from faramesh_cloud.registry.mirror_sources import (
    CheckoutSource,
    FetchError,
    HttpSource,
    Item,
    Quarantine,
    Source,
)
from faramesh_cloud.registry.seed import Origin, add_version, forget_blobs
from faramesh_cloud.registry.signatures import TrustedKey, b64, public_key_bytes
from faramesh_cloud.registry.snapshot import (
    OFFICIAL_KEY_ID,
    OFFICIAL_PUBLIC_KEY_B64,
    SnapshotVersion,
)
from faramesh_cloud.registry.store import KeyRow, RegistryStore, VersionRow
from faramesh_cloud.registry.translog_format import LogAction
from faramesh_cloud.sql.database import Database

MIRROR_ACTOR: Final = Actor.system("registry-mirror")
OFFICIAL_PIN: Final = TrustedKey(OFFICIAL_KEY_ID, public_key_bytes(OFFICIAL_PUBLIC_KEY_B64))


def parse_pin(text: str) -> TrustedKey:
    """``ID=BASE64`` (a key id and its 32-byte Ed25519 public key) as a pinned key."""
    key_id, sep, key = text.strip().partition("=")
    if not sep or not key_id:
        raise ValueError(f"pin {text!r}: write it as ID=BASE64 (the key id and its Ed25519 public key)")
    try:
        return TrustedKey(key_id, public_key_bytes(key))
    except ValueError as exc:
        raise ValueError(f"pin {text!r}: {exc}") from None


def pins_of(texts: list[str] | tuple[str, ...]) -> dict[str, TrustedKey]:
    """The pinned keys from ``ID=BASE64`` texts; none given: the official key alone."""
    keys = [parse_pin(t) for t in texts if t.strip()] or [OFFICIAL_PIN]
    return {k.key_id: k for k in keys}


def source_for(text: str) -> Source:
    """An ``http(s)://`` registry URL, or a local checkout (a path or ``file://`` path)."""
    if text.startswith(("http://", "https://")):
        return HttpSource(text)
    return CheckoutSource(Path(text.removeprefix("file://")))


@dataclass(frozen=True, slots=True)
class QuarantineRow:
    source: str
    kind: str
    name: str
    version: str
    reason: str
    first_seen: datetime
    last_seen: datetime


@dataclass
class Progress:
    run_id: str
    source: str
    total: int = 0
    done: int = 0
    current: str = ""
    mirrored: int = 0
    unchanged: int = 0
    quarantined: int = 0
    failed: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    quarantines: list[tuple[str, str]] = field(default_factory=list)  # (item, reason) of this run
    state: str = "running"


class Mirror:
    def __init__(self, db: Database, store: RegistryStore, blobs: BlobStore, clock: Callable[[], datetime],
                 after_batch: Callable[[], Awaitable[Any]] | None = None) -> None:
        self._db = db
        self._store = store
        self._blobs = blobs
        self._clock = clock
        self._after = after_batch

    async def run(self, source: Source, pins: Mapping[str, TrustedKey], *, trigger: str = "demand",
                  on_progress: Callable[[Progress], None] | None = None) -> Progress:
        p = Progress(str(uuid.uuid4()), source.label)
        await self._started(p, trigger, pins)

        async def report() -> None:
            await self._update(p)
            if on_progress is not None:
                on_progress(p)

        try:
            try:
                items = await source.items()
            except FetchError as exc:
                p.state = "failed"
                p.errors.append({"item": "", "error": exc.reason})
                return p
            p.total = len(items)
            await report()
            for item in items:
                p.current = str(item)
                await report()
                await self._one(p, source, item, pins)
                p.done += 1
            p.state, p.current = "finished", ""
            return p
        finally:
            await self._update(p, finished=True)
            if on_progress is not None:
                on_progress(p)
            await source.close()
            if self._after is not None:
                await self._after()

    async def runs(self, limit: int = 20) -> list[Progress]:
        """The latest runs, newest first (what the CLI and the UI show as progress)."""
        async with self._db.connection() as conn:
            rows = await (await conn.execute(
                "SELECT run_id, source, total, done, current_item, mirrored, unchanged, quarantined, failed, errors, "
                "state FROM registry_mirror_runs ORDER BY ordinal DESC LIMIT %s", (limit,))).fetchall()
        return [Progress(str(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], list(r[9]), state=r[10])
                for r in rows]

    async def quarantined(self) -> list[QuarantineRow]:
        """Everything a mirror refused to serve, with why (newest first)."""
        async with self._db.connection() as conn:
            rows = await (await conn.execute(
                "SELECT source, kind, name, version, reason, first_seen, last_seen FROM registry_mirror_quarantine "
                "ORDER BY last_seen DESC, kind, name, version")).fetchall()
        return [QuarantineRow(*r) for r in rows]

    async def _one(self, p: Progress, source: Source, item: Item, pins: Mapping[str, TrustedKey]) -> None:
        put: list[str] = []
        try:
            v = await source.describe(item, pins)
            existing = await self._store.version(item.kind, item.name, item.version)
            if existing is not None:
                if _same(existing, v):
                    p.unchanged += 1
                    return
                raise Quarantine(f"{item}: upstream's content differs from the version already here "
                                 f"(ours {_digest(existing)}, theirs {_digest(v)}); artifacts are immutable, "
                                 "so it is not overwritten", {"ours": _digest(existing), "theirs": _digest(v)})
            key = pins[v.key_id]
            fetched = await source.binaries(v, key, self._blobs)
            put.extend(fetched.hosted.values())
            await self._list_key(key)
            added = await add_version(self._db, self._store, self._blobs, fetched.version, self._clock(),
                                      Origin("mirror", MIRROR_ACTOR, LogAction.MIRRORED, source.label),
                                      fetched.hosted)
            put.clear()
            if added:
                p.mirrored += 1
            else:
                p.unchanged += 1
        except Quarantine as exc:
            put.extend(exc.blobs)
            await self._quarantine(p, item, exc)
        except FetchError as exc:
            put.extend(exc.blobs)
            p.failed += 1
            p.errors.append({"item": str(item), "error": exc.reason})
        finally:
            await forget_blobs(self._db, self._store, self._blobs, put)

    async def _list_key(self, key: TrustedKey) -> None:
        """List a pinned key the versions it signed will name (official already is)."""
        async with self._db.transaction() as conn:
            listed = {k.key_id: k for k in await self._store.keys(conn)}
            if key.key_id in listed:
                if listed[key.key_id].public_key != key.public_key:
                    raise Quarantine(f"pinned key {key.key_id!r} is listed here with another public key")
                return
            now = self._clock()
            await self._store.add_key(conn, KeyRow(key.key_id, "ed25519", key.public_key, "mirror", "mirror",
                                                   "pinned by the operator for a mirror", now, None))
            await OUTBOX.add(conn, TOPIC, [encode(KeyAdded(new_event_id(), now, MIRROR_ACTOR, key.key_id, "mirror",
                                                            b64(key.public_key)))])
            await log_key_added(conn, key.key_id, "mirror", b64(key.public_key), MIRROR_ACTOR)

    async def _quarantine(self, p: Progress, item: Item, q: Quarantine) -> None:
        p.quarantined += 1
        p.quarantines.append((str(item), q.reason))
        now = self._clock()
        async with self._db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO registry_mirror_quarantine (source, kind, name, version, reason, detail, first_run_id, "
                "last_run_id, first_seen, last_seen) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (source, kind, name, version, reason) DO UPDATE SET last_run_id = EXCLUDED.last_run_id, "
                "last_seen = EXCLUDED.last_seen RETURNING (xmax = 0)",
                (p.source, item.kind.value, item.name, item.version, q.reason, Jsonb(q.detail), p.run_id, p.run_id,
                 now, now))
            row = await cur.fetchone()
            if not (row and row[0]):
                return  # met again: already recorded, announced and logged
            event_id = new_event_id()
            fields = {"source": p.source, "kind": item.kind.value, "name": item.name, "version": item.version,
                      "reason": q.reason, "run_id": p.run_id}
            message = Struct()
            message.update({**fields, "event_id": event_id, "occurred_at": now.isoformat(),
                            "actor": MIRROR_ACTOR.label})
            await OUTBOX.add(conn, TOPIC, [event_record("", "", "MirrorQuarantined", event_id,
                                                        message.SerializeToString(deterministic=True))])
            await translog.append(conn, action=LogAction.QUARANTINED.value,
                                  subject={"kind": item.kind.value, "name": item.name, "version": item.version},
                                  actor=actor_json(MIRROR_ACTOR),
                                  body={"source": p.source, "reason": q.reason, "run_id": p.run_id})

    async def _started(self, p: Progress, trigger: str, pins: Mapping[str, TrustedKey]) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO registry_mirror_runs (run_id, source, trigger, pinned_keys, started_at) "
                "VALUES (%s, %s, %s, %s, %s)", (p.run_id, p.source, trigger, sorted(pins), self._clock()))

    async def _update(self, p: Progress, *, finished: bool = False) -> None:
        if finished and p.state == "running":
            p.state = "failed"
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE registry_mirror_runs SET total = %s, done = %s, current_item = %s, mirrored = %s, "
                "unchanged = %s, quarantined = %s, failed = %s, errors = %s, state = %s, finished_at = %s "
                "WHERE run_id = %s",
                (p.total, p.done, p.current, p.mirrored, p.unchanged, p.quarantined, p.failed, Jsonb(p.errors),
                 p.state, self._clock() if finished else None, p.run_id))


def _digest(v: VersionRow | SnapshotVersion) -> str:
    """What a version's signature covers, as one digest: the FPL body's, or the manifest's."""
    if isinstance(v, VersionRow):
        return v.body_sha256 or manifest_digest(v.manifest) or ""
    if v.body is not None:
        return hashlib.sha256(v.body).hexdigest()
    return manifest_digest(v.manifest) or ""


def _same(existing: VersionRow, v: SnapshotVersion) -> bool:
    return _digest(existing) == _digest(v)
