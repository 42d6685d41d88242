"""A fleet of simulated daemons, one per stack key, each with its own data dir, writer and
sync loop, all in one event loop. Used by ``faramesh-cloud simulate`` and ``up --demo``."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from faramesh_cloud.rpc.sync_client import SyncClient
from faramesh_cloud.simulator.daemon import DaemonOptions, SimulatedDaemon
from faramesh_cloud.simulator.sync import SyncLoop, SyncStopped
from faramesh_cloud.simulator.sync_parts import SyncOptions, SyncStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StackSpec:
    """One simulated stack: its key, and ``label``, the stable name of its local data dir
    (``<fleet dir>/<label>``: WAL, keys, sync buffer)."""

    label: str
    api_key: str


@dataclass(frozen=True, slots=True)
class Connection:
    """Where Cloud's sync endpoint is and how to trust it."""

    target: str  # host:port
    root_certificates: bytes | None = None  # PEM; None = the system trust store
    server_name: str | None = None


@dataclass(frozen=True, slots=True)
class StackLine:
    """One stack's numbers for a status line."""

    label: str
    name: str
    state: str
    written: int
    last_sequence: int
    acked: int
    queued: int
    error: str


@dataclass(slots=True)
class _Member:
    spec: StackSpec
    daemon: SimulatedDaemon
    sync: SyncLoop
    error: str = ""
    closed: bool = False


class Fleet:
    def __init__(self, specs: Sequence[StackSpec], directory: Path, connection: Connection,
                 daemon_options: DaemonOptions | None = None, sync_options: SyncOptions | None = None) -> None:
        labels = [s.label for s in specs]
        if len(set(labels)) != len(labels) or len({s.api_key for s in specs}) != len(specs):
            raise ValueError("each simulated stack needs its own key and label: two daemons sharing "
                             "a stack key would race for the same decisions and commands")
        self._specs = list(specs)
        self._directory = directory
        self._connection = connection
        self._daemon_options = daemon_options or DaemonOptions()
        self._sync_options = sync_options or SyncOptions()
        self._members: list[_Member] = []

    def _connect(self, api_key: str) -> SyncClient:
        c = self._connection
        return SyncClient(c.target, api_key, root_certificates=c.root_certificates, server_name=c.server_name)

    @property
    def daemons(self) -> list[SimulatedDaemon]:
        return [m.daemon for m in self._members]

    @property
    def syncs(self) -> list[SyncLoop]:
        return [m.sync for m in self._members]

    @property
    def errors(self) -> list[str]:
        return [m.error for m in self._members if m.error]

    def lines(self) -> list[StackLine]:
        out = []
        for m in self._members:
            buffer, status = m.daemon.buffer, m.sync.status
            out.append(StackLine(m.spec.label, status.stack_name or m.spec.label, status.state,
                                 m.daemon.records_written, buffer.last_sequence, buffer.acked_through,
                                 buffer.queued, _note(m.error, status)))
        return out

    async def open(self) -> None:
        """Open every stack's daemon (its WAL, keys and buffer); ``run`` does it if needed."""
        if self._members:
            return
        for spec in self._specs:
            try:
                daemon = await SimulatedDaemon.open(self._directory / spec.label, spec.label, self._daemon_options)
            except BaseException:
                await self.close()
                raise
            options = self._sync_options
            if not options.hostname:
                options = dataclasses.replace(options, hostname=f"{spec.label}-host",
                                              daemon_version=self._daemon_options.daemon_version)
            sync = SyncLoop(functools.partial(self._connect, spec.api_key), daemon.buffer, daemon, options,
                            label=spec.label)
            self._members.append(_Member(spec, daemon, sync))

    async def _sync(self, member: _Member, stop: asyncio.Event, all_stopped: asyncio.Event) -> None:
        try:
            await member.sync.run(stop)
        except SyncStopped as exc:
            member.error = str(exc)
            log.error("%s", exc)
            if all(m.error for m in self._members):
                all_stopped.set()

    async def run(self, stop: asyncio.Event, *, drain_timeout_s: float = 0.0) -> None:
        """Run every stack until ``stop`` is set (or every stack's sync was refused), then
        stop writing and, for up to ``drain_timeout_s``, keep syncing until the buffers are
        empty. Buffers keep whatever was not delivered, for the next run."""
        writer_stop, sync_stop, all_stopped = asyncio.Event(), asyncio.Event(), asyncio.Event()
        try:
            await self.open()
            writers = [asyncio.create_task(m.daemon.run(writer_stop)) for m in self._members]
            syncs = [asyncio.create_task(self._sync(m, sync_stop, all_stopped)) for m in self._members]
            waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(all_stopped.wait())]
            try:
                await asyncio.wait([*waiters, *writers], return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
                writer_stop.set()
                await asyncio.gather(*writers, return_exceptions=True)
                for member in self._members:
                    member.daemon.flush.set()  # push what is queued now, not at the next interval
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._drained(), drain_timeout_s)
                sync_stop.set()
                await asyncio.gather(*syncs, *waiters, return_exceptions=True)
            for writer in writers:  # a writer that failed is a bug worth surfacing
                if writer.done() and not writer.cancelled() and writer.exception() is not None:
                    raise writer.exception()  # type: ignore[misc]
        finally:
            await self.close()

    async def close(self) -> None:
        """Close every opened daemon (their buffers keep what was not delivered)."""
        for member in self._members:
            if not member.closed:
                member.closed = True
                await member.daemon.close()

    async def _drained(self) -> None:
        """Return once every stack that is in contact with Cloud (or still making first
        contact) has delivered everything; one that is retrying keeps its items for the next
        run instead of holding the others up."""
        await asyncio.gather(*(m.daemon.buffer.wait_empty() for m in self._members
                               if not m.error and m.sync.status.state in ("connected", "connecting")))


def _note(error: str, status: SyncStatus) -> str:
    if error:
        return "sync stopped: " + error.split(". ", 1)[0].split(": ", 1)[-1]
    return f"retrying after {status.last_code}" if status.state == "retrying" else ""
