"""What every internal gRPC servicer does at its edge, shared so that each service's
``servicer.py`` keeps only its own messages: the organisation id checked as a UUID, the actor
of a change read and checked, and a call whose refusals are answered with their status and the
service's message (``LookupError`` NOT_FOUND; ``ServiceBusy`` UNAVAILABLE with ``retry-after``;
the service's own refusals as it names them). A servicer holds one :class:`Edge` naming its
refusals."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import grpc
import grpc.aio

from faramesh_cloud.platform_audit.events import Actor, ActorType
from faramesh_cloud.rpc.errors import ServiceBusy
from faramesh_cloud.rpc.internal_client import RETRY_AFTER

ACTOR_TYPES: Final = (ActorType.USER, ActorType.API_KEY, ActorType.SYSTEM)

Context = grpc.aio.ServicerContext[Any, Any]
T = TypeVar("T")
Refusals = Sequence[tuple[type[Exception], grpc.StatusCode]]


def org_id(value: str, invalid: type[Exception]) -> str:
    """``value`` if it is an organisation id (a UUID); else ``invalid`` saying so."""
    try:
        uuid.UUID(value)
    except ValueError:
        raise invalid(f"org_id {value!r} is not an organisation id (a UUID)") from None
    return value


def actor(request: Any, invalid: type[Exception]) -> Actor:
    """The actor of a change: required, one of the kinds that make changes (else ``invalid``)."""
    if not request.HasField("actor") or request.actor.type not in ACTOR_TYPES:
        raise invalid("a change names who makes it: actor.type is user, api_key or system")
    a = request.actor
    return Actor(ActorType(a.type), a.id, a.label, a.ip)


async def answer(context: Context, call: Callable[[], Awaitable[T]], refusals: Refusals) -> T:
    """``call()``, with each refusal answered by its status and the service's message: first
    ``ServiceBusy``, then ``refusals`` in order, then ``LookupError``."""
    try:
        return await call()
    except ServiceBusy as exc:
        await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc),
                            trailing_metadata=((RETRY_AFTER, str(exc.retry_after_s)),))
    except Exception as exc:
        for kind, status in refusals:
            if isinstance(exc, kind):
                await context.abort(status, str(exc))
        if not isinstance(exc, LookupError):
            raise
        await context.abort(grpc.StatusCode.NOT_FOUND, str(exc.args[0]) if exc.args else "not found")
    raise AssertionError("abort raises")  # keeps type checkers informed


@dataclass(frozen=True)
class Edge:
    """One service's edge: ``invalid`` (INVALID_ARGUMENT) is what a malformed org id or actor
    raises; ``refusals`` maps the service's own refusals to their status, in order."""

    invalid: type[Exception]
    refusals: Refusals

    def org(self, value: str) -> str:
        return org_id(value, self.invalid)

    def actor(self, request: Any) -> Actor:
        return actor(request, self.invalid)

    async def answer(self, context: Context, call: Callable[[], Awaitable[T]]) -> T:
        return await answer(context, call, self.refusals)
