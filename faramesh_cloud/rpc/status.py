"""Rich gRPC errors: standard ``google.rpc`` details in the ``grpc-status-details-bin``
trailer (``BadRequest`` naming the field, ``RetryInfo`` saying when to retry), plus a plain
``retry-after-ms`` trailer for clients without status-detail support (docs/sync-api.md §7).

Server side: :func:`abort` ends a call with such a status. Client side:
:func:`details_of` reads them back from a failed call.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, NoReturn

import grpc
import grpc.aio
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2

DETAILS_KEY: Final = "grpc-status-details-bin"
RETRY_AFTER_KEY: Final = "retry-after-ms"

Metadata = tuple[tuple[str, str | bytes], ...]


def status_metadata(
    code: grpc.StatusCode,
    message: str,
    *,
    field: str | None = None,
    retry_after_s: float | None = None,
    error_info: error_details_pb2.ErrorInfo | None = None,
) -> Metadata:
    """Trailing metadata carrying the details of a status (empty when there are none)."""
    details: list[any_pb2.Any] = []
    extra: list[tuple[str, str | bytes]] = []
    if error_info is not None:
        packed = any_pb2.Any()
        packed.Pack(error_info)
        details.append(packed)
    if field is not None:
        packed = any_pb2.Any()
        packed.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=field, description=message)
                ]
            )
        )
        details.append(packed)
    if retry_after_s is not None:
        millis = max(1, math.ceil(retry_after_s * 1000))
        packed = any_pb2.Any()
        packed.Pack(
            error_details_pb2.RetryInfo(
                retry_delay=duration_pb2.Duration(seconds=millis // 1000, nanos=(millis % 1000) * 1_000_000)
            )
        )
        details.append(packed)
        extra.append((RETRY_AFTER_KEY, str(millis)))
    if not details:
        return ()
    status = status_pb2.Status(code=code.value[0], message=message, details=details)
    return ((DETAILS_KEY, status.SerializeToString()), *extra)


async def abort(
    context: grpc.aio.ServicerContext[object, object],
    code: grpc.StatusCode,
    message: str,
    *,
    field: str | None = None,
    retry_after_s: float | None = None,
    error_info: error_details_pb2.ErrorInfo | None = None,
) -> NoReturn:
    """End the call with ``code``; with ``field`` the message is prefixed by the field path."""
    if field is not None:
        message = f"{field}: {message}"
    await context.abort(
        code, message, trailing_metadata=status_metadata(code, message, field=field, retry_after_s=retry_after_s,
                                                                       error_info=error_info)
    )
    raise AssertionError("unreachable: context.abort raises")  # pragma: no cover


@dataclass(frozen=True, slots=True)
class StatusDetails:
    """What a failed call's trailers say beyond code and message."""

    retry_after_s: float | None = None
    fields: tuple[str, ...] = ()
    error_info: error_details_pb2.ErrorInfo | None = None


def details_of(trailing: Sequence[tuple[str, str | bytes]] | None) -> StatusDetails:
    """Read ``RetryInfo`` / ``BadRequest`` (or the plain ``retry-after-ms``) from trailers."""
    retry: float | None = None
    fields: list[str] = []
    found: error_details_pb2.ErrorInfo | None = None
    for key, value in trailing or ():
        if key == RETRY_AFTER_KEY and retry is None:
            try:
                retry = int(value) / 1000
            except ValueError:
                continue
        elif key == DETAILS_KEY and isinstance(value, bytes):
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                info = error_details_pb2.RetryInfo()
                bad = error_details_pb2.BadRequest()
                error = error_details_pb2.ErrorInfo()
                if detail.Unpack(error):
                    found = error
                elif detail.Unpack(info):
                    retry = info.retry_delay.ToNanoseconds() / 1e9
                elif detail.Unpack(bad):
                    fields.extend(v.field for v in bad.field_violations)
    return StatusDetails(retry_after_s=retry, fields=tuple(fields), error_info=found)
