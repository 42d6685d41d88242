"""Run services: all of them in one process (``up``, embedded) or one alone (``serve``)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Sequence

from faramesh_cloud.config import Settings
from faramesh_cloud.runtime.health import Health, health_server
from faramesh_cloud.runtime.platform import PLATFORM_SCHEMAS, Platform, open_platform
from faramesh_cloud.runtime.service import Service
from faramesh_cloud.runtime.services import (
    DIRECTORY_USERS,
    OLAP_USERS,
    SERVICES,
    RuntimeContext,
    service_schemas,
)

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 5.0


async def run(settings: Settings, names: Sequence[str], stop: asyncio.Event,
              on_ready: Callable[[RuntimeContext], None] | None = None, *, health: bool = False) -> None:
    """Open the platform, start ``names`` in order, wait for ``stop``, stop them in reverse.
    ``health``: serve ``/livez`` and ``/readyz`` on ``Settings.health_port`` from before the
    platform opens until everything stopped (``runtime/health.py``; what ``serve`` does)."""
    unknown = [n for n in names if n not in SERVICES]
    if unknown:
        raise ValueError(f"unknown service(s) {', '.join(unknown)}; choose from {', '.join(SERVICES)}")
    services: list[Service] = []
    probes = Health(services)
    server = health_server(settings, probes) if health else None
    if server is not None:
        await server.start()
    try:
        await _run(settings, names, stop, on_ready, services, probes)
    finally:
        if server is not None:
            await server.stop()


async def _run(settings: Settings, names: Sequence[str], stop: asyncio.Event,
               on_ready: Callable[[RuntimeContext], None] | None, services: list[Service], probes: Health) -> None:
    platform: Platform = await open_platform(settings, with_olap=any(n in OLAP_USERS for n in names),
                                             schemas=(*PLATFORM_SCHEMAS, *service_schemas(names)),
                                             with_directory=any(n in DIRECTORY_USERS for n in names))
    ctx = RuntimeContext(platform, dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"), services, tuple(names))
    started: list[Service] = []
    try:
        for name in names:
            service = SERVICES[name].factory(ctx)
            ctx.services.append(service)
            await service.start()
            started.append(service)
        probes.phase = "running"
        if on_ready is not None:
            on_ready(ctx)
        await stop.wait()
    finally:
        probes.phase = "stopping"
        for service in reversed(started):
            try:
                await asyncio.wait_for(service.stop(), STOP_TIMEOUT_S)
            except (TimeoutError, Exception):  # keep stopping the others
                log.exception("service %s did not stop cleanly", service.name)
        await platform.close()
