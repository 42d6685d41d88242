"""W3C trace context on log records: the ``traceparent`` / ``tracestate`` headers (bytes).

A producer injects the current span's context into a record's headers at append; the
consumer runner extracts it from the records it reads. The header names are fixed
(``traceparent``, ``tracestate``): every adapter carries unknown headers through unchanged."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from opentelemetry.context import Context
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACEPARENT: Final = "traceparent"
TRACESTATE: Final = "tracestate"

_W3C: Final = TraceContextTextMapPropagator()


class _BytesGetter(Getter[Mapping[str, bytes]]):
    def get(self, carrier: Mapping[str, bytes], key: str) -> list[str] | None:
        value = carrier.get(key)
        return None if value is None else [bytes(value).decode("ascii", "replace")]

    def keys(self, carrier: Mapping[str, bytes]) -> list[str]:
        return list(carrier)


_GETTER: Final = _BytesGetter()


def context_headers(context: Context | None = None) -> dict[str, bytes]:
    """The trace context of ``context`` (default: the current one) as record headers; empty
    when there is no valid span."""
    carrier: dict[str, str] = {}
    _W3C.inject(carrier, context=context)
    return {name: value.encode("ascii") for name, value in carrier.items()}


def extract(headers: Mapping[str, bytes]) -> Context | None:
    """The remote span context a record's headers carry, or None without a ``traceparent``."""
    if TRACEPARENT not in headers:
        return None
    return _W3C.extract(headers, getter=_GETTER)
