"""``faramesh-cloud up --demo``: a simulated fleet feeding this Cloud, so a newcomer sees live
stacks, agents, DPRs and pending approvals at once.

On start it makes sure a demo organisation with three stacks exists (registered once; the
keys are kept in ``<data_dir>/demo/keys.json``, mode 0600, and reused by every later
``up --demo``), then runs the simulator against this Cloud's own sync endpoint, trusting the
self-signed certificate in ``<data_dir>/tls`` (or the configured ``tls_cert``). It talks to
ingest only through the public sync API, like a real daemon, and keeps its stacks' WALs and
buffers in ``<data_dir>/demo``, so a restart continues the same chains.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Final

from faramesh_cloud.runtime.service import ServiceInfo
from faramesh_cloud.simulator.daemon import DaemonOptions
from faramesh_cloud.simulator.fleet import Connection, Fleet
from faramesh_cloud.simulator.keys import load_or_create_keys
from faramesh_cloud.simulator.registration import ensure_stacks, load_saved
from faramesh_cloud.stacks.store import StackStore
from faramesh_cloud.tls import ensure_self_signed

if TYPE_CHECKING:
    from faramesh_cloud.runtime.services import RuntimeContext

log = logging.getLogger(__name__)

DEMO_STACKS: Final = ("payments-prod", "support-staging", "data-platform")
# A fifth of the defers still undecided after 3 minutes are resolved on the daemon host (CLI
# approve / deny, session ended), so the queue also shows approvals the daemon withdrew.
DEMO_OPTIONS: Final = DaemonOptions(agents=4, rate_per_s=2.0, local_resolve_share=0.2, local_resolve_after_s=180.0)
STOP_TIMEOUT_S: Final = 2.0  # how long stop() lets the fleet deliver what is queued


class DemoError(RuntimeError):
    """The demo fleet cannot start; the message says what to do."""


class DemoFleetService:
    name = "demo"

    def __init__(self, ctx: RuntimeContext, options: DaemonOptions = DEMO_OPTIONS) -> None:
        self._ctx = ctx
        self._options = options
        self._fleet: Fleet | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._state = "starting"

    def _target(self) -> str:
        settings = self._ctx.platform.settings
        if settings.sync_port == 0:
            raise DemoError("the demo fleet needs a fixed sync port; set --sync-port (or "
                            "FARAMESH_CLOUD_SYNC_PORT) to a port number instead of 0")
        host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(settings.sync_host, settings.sync_host)
        return f"{host}:{settings.sync_port}"

    async def start(self) -> None:
        settings = self._ctx.platform.settings
        target = self._target()
        store = StackStore(self._ctx.platform.db, region=self._ctx.platform.region)
        await store.start()
        directory = settings.data_dir / "demo"
        specs = await ensure_stacks(store, directory / "keys.json", DEMO_STACKS,
                                    org_slug="demo", org_name="Demo organisation", environment="demo")
        await self._pin_signing_keys(store, directory)
        cert = settings.tls_cert or (await asyncio.to_thread(ensure_self_signed, settings.data_dir / "tls"))[0]
        roots = await asyncio.to_thread(cert.read_bytes)
        self._fleet = Fleet(specs, directory, Connection(target, roots), self._options)
        await self._fleet.open()
        self._task = asyncio.create_task(self._run(self._fleet), name="demo-fleet")
        self._state = "running"

    @staticmethod
    async def _pin_signing_keys(store: StackStore, directory: Path) -> None:
        """Pin each demo stack's Ed25519 public key (the simulated daemon's own key file,
        created now if it is new), so the demo's signatures show as trusted. Idempotent."""
        saved = await asyncio.to_thread(load_saved, directory / "keys.json")
        if saved is None:
            return
        for stack in saved.stacks:
            if stack.name not in DEMO_STACKS:
                continue
            keys = await asyncio.to_thread(load_or_create_keys, directory / stack.name)
            await store.signing_keys.pin(saved.org_id, stack.stack_id, keys.public_key_b64,
                                         added_by="system:demo", label="simulated daemon key")

    async def _run(self, fleet: Fleet) -> None:
        try:
            await fleet.run(self._stop, drain_timeout_s=STOP_TIMEOUT_S)
        except Exception:
            self._state = "failed"
            log.exception("the demo fleet stopped; Cloud itself keeps running")
            raise
        if fleet.errors:
            self._state = "failed"

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._state != "failed":
            self._state = "stopped"

    def info(self) -> ServiceInfo:
        fleet = self._fleet
        if fleet is None:
            role = f"simulated daemon fleet ({len(DEMO_STACKS)} stacks)"
        else:
            lines = fleet.lines()
            queued = sum(x.queued for x in lines)
            role = (f"simulated daemon fleet: {len(lines)} stacks, {sum(x.written for x in lines)} DPRs "
                    f"written, {sum(x.last_sequence for x in lines) - queued} items acknowledged by Cloud, "
                    f"{queued} queued")
        return ServiceInfo(self.name, role, self._target_or_blank(), self._state)

    def _target_or_blank(self) -> str:
        try:
            return self._target()
        except DemoError:
            return ""
