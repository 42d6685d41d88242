"""What the runtime needs of a service: start, stop, and a line for the landing page; and
``ComponentService``, that protocol around a component with background work."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import uvicorn

from faramesh_cloud.log.port import Log
from faramesh_cloud.sql.database import Database


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    name: str
    role: str
    address: str
    state: str


class Service(Protocol):
    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def info(self) -> ServiceInfo: ...


class PlatformParts(Protocol):
    """The injected ports a consumer service uses (``runtime.platform.Platform`` has them)."""

    @property
    def db(self) -> Database: ...

    @property
    def log(self) -> Log: ...


class ServiceContext(Protocol):
    """What a service needs of ``runtime.services.RuntimeContext``: declared here so services
    do not import the composition root (which imports every adapter)."""

    @property
    def platform(self) -> PlatformParts: ...


class Component(Protocol):
    """A service's stores and background work: started, stopped, and the error a background
    task died of, if one did."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def failure(self) -> BaseException | None: ...


class ComponentService:
    """The ``Service`` protocol around a ``Component``: its state is ``starting``, ``running``,
    ``stopped``, or ``failed: <error>`` once a background task of a running one died.
    Subclasses set ``name`` and ``role`` and say where the component listens or consumes."""

    name: str
    role: str

    def __init__(self, component: Component) -> None:
        self._component = component
        self._state = "starting"

    async def start(self) -> None:
        await self._component.start()
        self._state = "running"

    async def stop(self) -> None:
        await self._component.stop()
        self._state = "stopped"

    def address(self) -> str:
        raise NotImplementedError

    def info(self) -> ServiceInfo:
        state = self._state
        failure = self._component.failure()
        if state == "running" and failure is not None:
            state = f"failed: {failure}"
        return ServiceInfo(self.name, self.role, self.address(), state)


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the runtime owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HttpServer:
    """An ASGI app served by uvicorn inside the running event loop."""

    def __init__(self, app: Any, host: str, port: int) -> None:
        self._server = _QuietServer(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                                   lifespan="on", access_log=False))
        self._task: asyncio.Task[None] | None = None
        self.host, self.port = host, port

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises the bind error
                raise RuntimeError(f"HTTP server on {self.host}:{self.port} stopped during start-up")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        await self._task
        self._task = None
