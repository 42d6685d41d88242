"""Helpers for the simulator tests: a real ingest server on a fixed port that can be stopped
and started again (a Cloud outage), and readers for what reached the log and the WALs."""

from __future__ import annotations

import asyncio
import socket
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest

from faramesh_cloud.config import Settings
from faramesh_cloud.dpr.chain import ChainVerifier, Finding
from faramesh_cloud.dpr.wal import VERSION_DPR, WalReader
from faramesh_cloud.events.topics import DEAD_LETTERS, DPR_RECORDS, SYNC_ITEMS, Origin
from faramesh_cloud.ingest.config import IngestConfig
from faramesh_cloud.ingest.service import IngestService
from faramesh_cloud.log.port import Log, Message
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.simulator.keys import DaemonKeys, load_or_create_keys
from faramesh_cloud.simulator.walfile import WAL_NAME
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.ingest import TlsPair, read_topic

# Short intervals so a test sees pushes, polls and status reports within a second.
FAST = IngestConfig(push_interval_s=0.05, decision_poll_interval_s=0.1, emergency_poll_interval_s=0.1,
                    status_interval_s=0.3, max_poll_wait_s=0.2, shutdown_grace_s=0.2)
Key = tuple[str, str, str, str, str]  # (org, stack, agent, record_id, record_hash)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cloud:
    """An IngestService on one fixed port, restartable (stop() = an outage)."""

    database: Database
    log: Log
    stacks: StackStore
    tls: TlsPair
    data_dir: Path
    config: IngestConfig = FAST
    port: int = field(default_factory=free_port)
    service: IngestService | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def settings(self) -> Settings:
        return Settings(data_dir=self.data_dir, sync_host="127.0.0.1", sync_port=self.port,
                        tls_cert=self.tls.cert, tls_key=self.tls.key)

    async def start(self) -> None:
        assert self.service is None
        self.service = IngestService(self.settings, self.log, self.database, self.stacks, self.config)
        await self.service.start()

    async def stop(self) -> None:
        if self.service is not None:
            await self.service.stop()
            self.service = None


async def eventually(check: Callable[[], bool | Awaitable[bool]], what: str, within_s: float = 60.0) -> None:
    """Wait until ``check`` holds (a bound against hanging, not a timing assertion)."""
    deadline = time.monotonic() + within_s
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {within_s:g} s")
        await asyncio.sleep(0.05)


def wal_records(stack_dir: Path) -> list[bytes]:
    """The DPR payloads of a simulated stack's faramesh.wal, in write order."""
    reader = WalReader((stack_dir / WAL_NAME).read_bytes())
    frames = [f.payload for f in reader if f.version == VERSION_DPR]
    assert reader.stop is None, reader.stop
    return frames


def record_key(org: str, stack: str, raw: bytes) -> Key:
    record = orjson.loads(raw)
    return (org, stack, record["agent_id"], record["record_id"], record["record_hash"])


def verify(raws: list[bytes], keys: DaemonKeys) -> tuple[ChainVerifier, list[Finding]]:
    """Every chain of a stack's records, with the daemon's HMAC key and its Ed25519 key pinned."""
    verifier = ChainVerifier(hmac_key=keys.hmac_key, trusted_keys={keys.public_key_b64})
    for index, raw in enumerate(raws):
        verifier.add(orjson.loads(raw), index, raw=raw)
    return verifier, verifier.finish()


def stack_keys(stack_dir: Path) -> DaemonKeys:
    return load_or_create_keys(stack_dir)


@dataclass
class LogView:
    """What reached the log, per stack id."""

    dprs: dict[str, list[bytes]]
    sequences: dict[str, list[int]]  # every sequence on any topic, per stack
    kinds: dict[str, set[str]]
    dead_letters: list[Message]


async def read_log(log: Log) -> LogView:
    dprs: dict[str, list[bytes]] = defaultdict(list)
    sequences: dict[str, list[int]] = defaultdict(list)
    kinds: dict[str, set[str]] = defaultdict(set)
    for message in await read_topic(log, DPR_RECORDS):
        origin = Origin.from_headers(message.headers)
        dprs[origin.stack_id].append(message.value)
        sequences[origin.stack_id].append(origin.sequence)
    for message in await read_topic(log, SYNC_ITEMS):
        origin = Origin.from_headers(message.headers)
        kinds[origin.stack_id].add(message.headers["kind"].decode())
        sequences[origin.stack_id].append(origin.sequence)
    dead = await read_topic(log, DEAD_LETTERS)
    for message in dead:
        origin = Origin.from_headers(message.headers)
        sequences[origin.stack_id].append(origin.sequence)
    return LogView(dict(dprs), dict(sequences), dict(kinds), dead)


__all__ = ["FAST", "WAL_NAME", "Cloud", "LogView", "eventually", "free_port", "read_log", "record_key",
           "stack_keys", "verify", "wal_records"]


@pytest.fixture(name="cloud")
async def cloud_fixture(database: Database, postgres_log: PostgresLog, stack_store: StackStore, sync_tls: TlsPair,
                        tmp_path: Path) -> AsyncIterator[Cloud]:
    """A running ``Cloud`` for a test module that imports this fixture."""
    cloud = Cloud(database, postgres_log, stack_store, sync_tls, tmp_path / "cloud")
    await cloud.start()
    yield cloud
    await cloud.stop()
