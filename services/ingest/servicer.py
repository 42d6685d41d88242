"""The gRPC edge of ingest: ``faramesh_cloud_api.sync.v1.SyncService``.

Every call: parse (garbage is INVALID_ARGUMENT, not an opaque failure), authenticate the
stack key (:mod:`.auth`), check size and the per-stack rate limit (:mod:`.limits`), then do
the work. Push follows the acknowledgement rule of :mod:`.acks`: append first, acknowledge
after. Approval decisions and emergency commands belong to the approvals service, reached
through the injected :class:`~faramesh_cloud.ingest.control.DaemonControl` (without one the
polls answer empty); acknowledging a command Cloud never sent is NOT_FOUND.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, NoReturn

import grpc
import grpc.aio
import psycopg
from faramesh_cloud_api.sync.v1 import emergency_pb2, sync_pb2
from google.protobuf import duration_pb2
from google.protobuf.message import DecodeError, Message
from psycopg_pool import PoolTimeout

from faramesh_cloud.directory.region import Region
from faramesh_cloud.ingest.acks import AckStore, BufferLocks
from faramesh_cloud.ingest.auth import identify
from faramesh_cloud.ingest.config import IngestConfig
from faramesh_cloud.ingest.control import DaemonControl, NoControl
from faramesh_cloud.ingest.limits import RateLimiter, oversize_message, push_cost
from faramesh_cloud.ingest.processor import (
    Caller,
    InvalidRequest,
    canonical_buffer_id,
    plan_push,
    validate_push,
)
from faramesh_cloud.log.port import Log, LogUnavailable
from faramesh_cloud.observability.ingest import IngestTelemetry
from faramesh_cloud.rpc.errors import ServiceBusy
from faramesh_cloud.rpc.status import abort
from faramesh_cloud.sql.database import DatabaseUnavailable
from faramesh_cloud.stacks.domain import StackIdentity
from faramesh_cloud.stacks.store import StackStore

SERVICE: Final = sync_pb2.DESCRIPTOR.services_by_name["SyncService"].full_name
MAX_ACKS: Final = 500

Context = grpc.aio.ServicerContext[Any, Any]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MalformedRequest:
    """Bytes that do not parse as the method's request message."""

    type_name: str
    error: str


def _seconds(value: float) -> duration_pb2.Duration:
    duration = duration_pb2.Duration()
    duration.FromNanoseconds(round(value * 1e9))
    return duration


class SyncServicer:
    """The SyncService methods. Build the gRPC handler with :func:`sync_handler`."""

    def __init__(
        self,
        *,
        log: Log,
        stacks: StackStore,
        acks: AckStore,
        config: IngestConfig,
        limiter: RateLimiter,
        wall_ns: Callable[[], int] = time.time_ns,
        control: DaemonControl | None = None,
        region: Region | None = None,
    ) -> None:
        self._region = region
        self._control: DaemonControl = control or NoControl()
        self._log = log
        self._stacks = stacks
        self._acks = acks
        self._config = config
        self._limits = config.limits
        self._limiter = limiter
        self._wall_ns = wall_ns
        self._locks = BufferLocks()
        self._stopping = asyncio.Event()  # set on stop: held long polls answer at once
        self._telemetry = IngestTelemetry.for_process()  # None when OpenTelemetry is off

    def release_waits(self) -> None:
        """Answer every held PollDecisions now (ingest is stopping)."""
        self._stopping.set()

    # -- the common prologue ---------------------------------------------------------

    async def _identify(self, request: object, context: Context) -> StackIdentity:
        """The caller's stack (authenticated first: nothing is said to an unknown caller about
        its request), once the request parsed."""
        identity = await identify(context, self._stacks, self._region)
        if isinstance(request, MalformedRequest):
            await abort(
                context, grpc.StatusCode.INVALID_ARGUMENT,
                f"the request is not a valid {request.type_name} ({request.error}); send the "
                "message generated from faramesh_cloud_api/sync/v1",
            )
        return identity

    async def _admit(self, identity: StackIdentity, context: Context, cost: int) -> None:
        wait = self._limiter.try_take(identity.stack_id, cost)
        if wait is not None:
            await abort(
                context, grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"this stack is over its rate limit ({self._limits.rate_per_s:g} items/s, bursts "
                f"of {self._limits.rate_burst:g}); keep the items and retry in {wait:.2f} s",
                retry_after_s=wait,
            )
        await self._stacks.touch(identity.org_id, identity.stack_id)

    @staticmethod
    async def _invalid(context: Context, exc: InvalidRequest) -> NoReturn:
        await abort(context, grpc.StatusCode.INVALID_ARGUMENT, exc.detail, field=exc.field)

    # -- methods ---------------------------------------------------------------------

    async def Hello(self, request: sync_pb2.HelloRequest, context: Context) -> sync_pb2.HelloResponse:
        identity = await self._identify(request, context)
        try:
            buffer_id = canonical_buffer_id(request.buffer_id)
        except InvalidRequest as exc:
            await self._invalid(context, exc)
        await self._admit(identity, context, 1)
        stack = await self._stacks.get_stack(identity.org_id, identity.stack_id)
        acked = await self._acks.acked_through(identity.org_id, identity.stack_id, buffer_id)
        config, limits = self._config, self._limits
        response = sync_pb2.HelloResponse(
            stack_id=identity.stack_id,
            org_id=identity.org_id,
            stack_name=stack.name if stack is not None else "",
            push_interval=_seconds(config.push_interval_s),
            decision_poll_interval=_seconds(config.decision_poll_interval_s),
            emergency_poll_interval=_seconds(config.emergency_poll_interval_s),
            status_interval=_seconds(config.status_interval_s),
            max_push_items=limits.max_push_items,
            max_push_bytes=limits.max_push_bytes,
            max_item_bytes=limits.max_item_bytes,
            max_poll_wait=_seconds(config.max_poll_wait_s),
            acked_through_sequence=acked,
        )
        response.server_time.FromNanoseconds(self._wall_ns())
        if identity.key_expires_at is not None:
            response.api_key_expires_at.FromDatetime(identity.key_expires_at)
        return response

    async def Push(self, push: SizedPush | MalformedRequest, context: Context) -> sync_pb2.PushResponse:
        started = time.perf_counter()
        identity = await self._identify(push, context)
        assert isinstance(push, SizedPush)  # a malformed one was answered by _identify
        request, size = push.request, push.nbytes
        too_big = oversize_message(size, self._limits)
        if too_big is not None:
            await abort(context, grpc.StatusCode.RESOURCE_EXHAUSTED, too_big)
        try:
            buffer_id = validate_push(request, self._limits)
        except InvalidRequest as exc:
            await self._invalid(context, exc)
        await self._admit(identity, context, push_cost(len(request.items)))
        org, stack = identity.org_id, identity.stack_id
        async with self._locks.hold(stack, buffer_id):
            acked = await self._acks.acked_through(org, stack, buffer_id)
            caller = Caller(org, stack, buffer_id, self._wall_ns())
            # Parsing up to max_push_bytes of JSON is CPU work: off the event loop.
            plan = await asyncio.to_thread(plan_push, request, caller, acked, self._limits, size)
            appended = plan.through > acked
            if appended:
                # Durable on return, the acked sequence with it (or right after it).
                await self._log.append_all(
                    list(plan.appends.items()),
                    after=self._acks.after(org, stack, buffer_id, plan.through))
                self._acks.remember(org, stack, buffer_id, plan.through)
                acked = plan.through
        if self._telemetry is not None:
            self._telemetry.pushed(org, stack, plan.appends if appended else {}, size, started)
        return sync_pb2.PushResponse(acked_through_sequence=acked, rejections=plan.rejections)

    async def PollDecisions(
        self, request: sync_pb2.PollDecisionsRequest, context: Context
    ) -> sync_pb2.PollDecisionsResponse:
        identity = await self._identify(request, context)
        if request.max_deliveries > MAX_ACKS:
            await self._invalid(context, InvalidRequest(
                "max_deliveries", f"{request.max_deliveries} is above {MAX_ACKS}; ask for 1-{MAX_ACKS}, or 0 for the default"))
        await self._admit(identity, context, 1)
        # The long poll: held until a delivery appears or the wait ends (capped at
        # max_poll_wait, and answered a second before the caller's own deadline).
        wait_s = min(max(request.wait.ToNanoseconds() / 1e9, 0.0), self._config.max_poll_wait_s)
        remaining = context.time_remaining()
        if remaining is not None:
            wait_s = min(wait_s, max(0.0, remaining - 1.0))
        if self._stopping.is_set():
            wait_s = 0.0
        poll = asyncio.ensure_future(self._control.poll_decisions(
            identity.org_id, identity.stack_id, request.max_deliveries, wait_s))
        if wait_s > 0:
            stopping = asyncio.ensure_future(self._stopping.wait())
            early = True
            try:
                await asyncio.wait([poll, stopping], return_when=asyncio.FIRST_COMPLETED)
                early = not poll.done()
            finally:
                stopping.cancel()
                if early:  # ingest is stopping, or the caller went away: stop waiting for it
                    poll.cancel()
            if early:  # answered early and empty, as the API allows
                return sync_pb2.PollDecisionsResponse()
        deliveries, more = await poll
        return sync_pb2.PollDecisionsResponse(deliveries=deliveries, has_more=more)

    async def AckDecisions(
        self, request: sync_pb2.AckDecisionsRequest, context: Context
    ) -> sync_pb2.AckDecisionsResponse:
        identity = await self._identify(request, context)
        if len(request.acks) > MAX_ACKS:
            await self._invalid(context, InvalidRequest(
                "acks", f"{len(request.acks)} acknowledgements exceed {MAX_ACKS}; send them in smaller calls"))
        for index, ack in enumerate(request.acks):
            if not ack.delivery_id:
                await self._invalid(context, InvalidRequest(
                    f"acks[{index}].delivery_id", "required: the Delivery.delivery_id acknowledged"))
        await self._admit(identity, context, 1)
        # Unknown delivery ids are ignored (per the API).
        await self._control.ack_decisions(identity.org_id, identity.stack_id, request.acks)
        return sync_pb2.AckDecisionsResponse()

    async def PollEmergencyCommands(
        self, request: sync_pb2.PollEmergencyCommandsRequest, context: Context
    ) -> sync_pb2.PollEmergencyCommandsResponse:
        identity = await self._identify(request, context)
        await self._admit(identity, context, 1)
        commands = await self._control.poll_commands(identity.org_id, identity.stack_id)
        return sync_pb2.PollEmergencyCommandsResponse(commands=commands)

    async def AckEmergencyCommand(
        self, request: sync_pb2.AckEmergencyCommandRequest, context: Context
    ) -> sync_pb2.AckEmergencyCommandResponse:
        identity = await self._identify(request, context)
        if not request.command_id:
            await self._invalid(context, InvalidRequest(
                "command_id", "required: the EmergencyCommand.command_id acknowledged"))
        if request.outcome == emergency_pb2.EMERGENCY_COMMAND_OUTCOME_UNSPECIFIED:
            await self._invalid(context, InvalidRequest(
                "outcome", "required: APPLIED, ALREADY_IN_EFFECT, REJECTED or FAILED"))
        await self._admit(identity, context, 1)
        if await self._control.ack_command(identity.org_id, identity.stack_id, request):
            return sync_pb2.AckEmergencyCommandResponse()
        await abort(
            context, grpc.StatusCode.NOT_FOUND,
            f"no emergency command {request.command_id[:64]!r} was issued to this stack; "
            "log it and do not retry this acknowledgement",
        )


# -- wiring --------------------------------------------------------------------------

Behaviour = Callable[[Any, Context], Awaitable[Message]]


@dataclass(frozen=True, slots=True)
class SizedPush:
    """A PushRequest and its size on the wire (known without serialising it again)."""

    request: sync_pb2.PushRequest
    nbytes: int


def _sized_push(data: bytes) -> SizedPush | MalformedRequest:
    parsed = _lenient(sync_pb2.PushRequest)(data)
    if isinstance(parsed, MalformedRequest):
        return parsed
    assert isinstance(parsed, sync_pb2.PushRequest)
    return SizedPush(parsed, len(data))


def _lenient(message: type[Message]) -> Callable[[bytes], Message | MalformedRequest]:
    name = message.DESCRIPTOR.full_name

    def parse(data: bytes) -> Message | MalformedRequest:
        try:
            return message.FromString(data)
        except DecodeError as exc:
            return MalformedRequest(name, str(exc))

    return parse


def _guarded(behaviour: Behaviour) -> Behaviour:
    """Turn infrastructure failures into the statuses the API promises, never a stack trace."""

    async def call(request: Any, context: Context) -> Message:
        try:
            return await behaviour(request, context)
        except grpc.aio.AbortError:
            raise
        except LogUnavailable as exc:
            _log.warning("push not acknowledged, the log is unavailable: %s", exc)
            await abort(
                context, grpc.StatusCode.UNAVAILABLE,
                "Cloud's log is unavailable, nothing from this call was acknowledged; retry the "
                "same items with exponential backoff",
            )
        except ServiceBusy as exc:  # DaemonControl: the approvals service said "not now" (catching up)
            _log.info("sync call deferred, the approvals service is busy: %s", exc)
            await abort(
                context, grpc.StatusCode.UNAVAILABLE,
                f"Cloud's approvals service is busy: {exc.public} Nothing from this call was handed out "
                "or acknowledged; retry after the delay given",
                retry_after_s=exc.retry_after_s,
            )
        except ConnectionError as exc:  # DaemonControl: the approvals service did not answer
            _log.warning("sync call failed, the approvals service is unavailable: %s", exc)
            await abort(
                context, grpc.StatusCode.UNAVAILABLE,
                "Cloud's approvals service is unavailable; nothing was handed out or acknowledged, "
                "retry with exponential backoff",
            )
        except (psycopg.OperationalError, PoolTimeout, DatabaseUnavailable) as exc:
            _log.warning("sync call failed, the database is unavailable: %s", exc)
            await abort(
                context, grpc.StatusCode.UNAVAILABLE,
                "Cloud's database is unavailable, nothing from this call was acknowledged; "
                "retry with exponential backoff",
            )
        except Exception:
            _log.exception("sync call failed")
            await abort(
                context, grpc.StatusCode.INTERNAL,
                "internal error in Cloud ingest, nothing from this call was acknowledged; retry "
                "with backoff and report it to the Cloud operator if it persists",
            )

    return call


def sync_handler(servicer: SyncServicer) -> grpc.GenericRpcHandler:
    """The SyncService handler: every method of the v1 service, with lenient parsing."""
    methods: dict[str, tuple[type[Message], type[Message], Behaviour]] = {
        "Hello": (sync_pb2.HelloRequest, sync_pb2.HelloResponse, servicer.Hello),
        "Push": (sync_pb2.PushRequest, sync_pb2.PushResponse, servicer.Push),
        "PollDecisions": (sync_pb2.PollDecisionsRequest, sync_pb2.PollDecisionsResponse,
                          servicer.PollDecisions),
        "AckDecisions": (sync_pb2.AckDecisionsRequest, sync_pb2.AckDecisionsResponse,
                         servicer.AckDecisions),
        "PollEmergencyCommands": (sync_pb2.PollEmergencyCommandsRequest,
                                  sync_pb2.PollEmergencyCommandsResponse,
                                  servicer.PollEmergencyCommands),
        "AckEmergencyCommand": (sync_pb2.AckEmergencyCommandRequest,
                                sync_pb2.AckEmergencyCommandResponse,
                                servicer.AckEmergencyCommand),
    }
    handlers = {
        name: grpc.unary_unary_rpc_method_handler(
            _guarded(behaviour),
            request_deserializer=_sized_push if name == "Push" else _lenient(request),
            response_serializer=response.SerializeToString,
        )
        for name, (request, response, behaviour) in methods.items()
    }
    return grpc.method_handlers_generic_handler(SERVICE, handlers)
