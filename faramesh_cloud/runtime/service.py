"""What the runtime needs of a service: start, stop, and a line for the landing page; and
``ComponentService``, that protocol around a component with background work."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from faramesh_cloud.log.port import Log
from faramesh_cloud.outbox.relay import OutboxLag, OutboxRelay
from faramesh_cloud.sql.database import Database


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    name: str
    role: str
    address: str
    state: str
    # The service's transactional outboxes as last seen by their relays: how far behind the
    # log they are and how many rows the log refused for good (an operator's first look).
    outboxes: tuple[OutboxLag, ...] = ()


class Service(Protocol):
    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def info(self) -> ServiceInfo: ...


S = TypeVar("S")


def running(services: Sequence[object], kind: type[S]) -> S | None:
    """The service of class ``kind`` among those this process runs, if any (a caller then
    uses its own object in process, else that service's gRPC client)."""
    return next((s for s in services if isinstance(s, kind)), None)


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
    Subclasses set ``name`` and ``role`` and say where the component listens or consumes;
    ``relays`` are its outbox relays, whose lag the service's info shows."""

    name: str
    role: str

    def __init__(self, component: Component, relays: Sequence[OutboxRelay] = ()) -> None:
        self._component = component
        self._relays = tuple(relays)
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
        return ServiceInfo(self.name, self.role, self.address(), state,
                           tuple(relay.lag() for relay in self._relays))
